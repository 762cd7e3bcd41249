"""Kill a real writer process at random points; the store must stay whole.

Each writer is SIGKILLed 0-50 ms after its store is open, many times over. Afterwards
every run folder is complete (run.json parses, every artifact present and untorn), no
`.tmp-` leftovers survive start-up, and the index matches the folders exactly.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handlers.kit.atomic import TMP_PREFIX
from handlers.runs.ids import is_valid_run_id
from handlers.runs.store import RunStore
from tests.handlers.runs.store_docs import seeded
from tests.handlers.runs.store_writer import ARTIFACTS, is_sealed

ROOT = Path(__file__).resolve().parents[3]
KILLS = 40
MAX_DELAY_S = 0.050
TIME_BUDGET_S = 20.0


def _start_writer(runs_dir: Path, seed: int) -> tuple[subprocess.Popen[str], dict[str, int]]:
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.handlers.runs.store_writer", str(runs_dir), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    line = writer.stdout.readline()
    if not line:
        writer.stdout.close()
        pytest.fail(f"writer exited early with {writer.wait()}")
    return writer, json.loads(line)


def _leftovers(runs_dir: Path) -> list[str]:
    found = [p.name for p in runs_dir.iterdir() if p.name.startswith(TMP_PREFIX)]
    for folder in runs_dir.iterdir():
        if is_valid_run_id(folder.name):
            found += [p.name for p in folder.iterdir() if p.name.startswith(TMP_PREFIX)]
    return found


@pytest.mark.slow
def test_killed_writer_leaves_only_whole_runs_and_a_matching_index(tmp_path: Path) -> None:
    rng = seeded(20260115)
    runs_dir = tmp_path / "runs"
    catch_ups = []
    interrupted = 0
    started = time.monotonic()
    kills = 0
    while kills < KILLS and time.monotonic() - started < TIME_BUDGET_S:
        writer, report = _start_writer(runs_dir, seed=kills)
        try:
            catch_ups.append(report)
            time.sleep(rng.uniform(0, MAX_DELAY_S))
        finally:
            os.kill(writer.pid, signal.SIGKILL)
            assert writer.stdout is not None
            writer.stdout.close()
        assert writer.wait() == -signal.SIGKILL
        kills += 1
        interrupted = len(_leftovers(runs_dir))
    assert kills >= KILLS // 2, "too few kills within the time budget"
    assert interrupted > 0, "no kill landed mid-write; the test proves nothing"
    # A kill interrupts at most one store operation, so catching up touches at most one run.
    for report in catch_ups:
        assert report["added"] + report["updated"] + report["removed"] <= 1, report

    with RunStore(runs_dir, stale_temporary_s=0) as store:
        assert _leftovers(runs_dir) == []
        folders = sorted(p.name for p in runs_dir.iterdir() if is_valid_run_id(p.name))
        assert len(folders) >= kills // 2, "the writer hardly ever got to create a run"
        statuses = {}
        for run_id in folders:
            run = store.get(run_id)
            assert run["id"] == run_id
            statuses[run_id] = run["status"]
            for name in ARTIFACTS:
                assert is_sealed(store.read_file(run_id, name)), (run_id, name)
        assert store.indexed_statuses() == statuses
        items, _ = store.list(tag="crash", limit=1000)
        assert sorted(item["id"] for item in items) == folders
