"""bench.episodes at tiny sizes: it runs end to end and prints what `make bench` collects.

Only the structure is checked, never a figure: timings of a smoke run mean nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.report import LINE, PREFIX
from bench.servers import ROOT


@pytest.mark.slow
def test_quick_run_prints_every_figure_and_result() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.episodes", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr  # 1: a target missed, not a crash
    out = proc.stdout
    results = [line for line in out.splitlines() if line.startswith(PREFIX)]
    assert len(results) == 3, out
    assert len(LINE.findall(out)) == 3, out
    assert results[0].startswith(f"{PREFIX}seed batch (3x3 episodes) / ideal: "), out
    assert results[1].startswith(f"{PREFIX}batch of 6 (3x2 episodes) / ideal: "), out
    assert results[2].startswith(f"{PREFIX}4 sim runs, 2 clients / raw x cores: "), out
    for label in ("raw, first pass", "POST /api/sim/batch ms:", "raw serial ms:"):
        assert label in out, out
    assert "service runs/s:" in out, out
    assert "raw episodes/s (1 process):" in out, out
    assert proc.returncode == (0 if all(r.endswith("PASS") for r in results) else 1)
