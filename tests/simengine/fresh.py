"""Run specs in a fresh Python process (a new interpreter, with its own numpy set-up) and
summarise each result the same way as in the test's process."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Run metrics measured with the wall clock: they differ between any two runs.
CLOCK_METRICS = frozenset(
    {"wall_time_s", "avg_step_time_ms", "p95_step_time_ms", "realtime_factor"}
)


def trajectory(result: Mapping[str, Any]) -> str:
    """The trajectory hash of a run's result."""
    return str(result["trajectory_sha256"])


def everything(result: Mapping[str, Any]) -> str:
    """Metrics (but the wall-clock ones), history and the replay's bytes of a result."""
    metrics = {k: v for k, v in result["metrics"].items() if k not in CLOCK_METRICS}
    replay = hashlib.sha256(result["replay_npz"]).hexdigest()
    return json.dumps([metrics, result["history"], replay], sort_keys=True)


def in_fresh_process(
    specs: Sequence[Mapping[str, Any]], *, summary: str, env: Mapping[str, str] | None = None
) -> list[str]:
    """`summary` (a function of this module, by name) of `run_spec` of each spec, computed
    in a new process with the environment `env` (default: this one's)."""
    script = (
        "import json, sys\nfrom simengine import api\n"
        f"from tests.simengine.fresh import {summary} as summary\n"
        "print(json.dumps([summary(api.run_spec(s)) for s in json.loads(sys.argv[1])]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(specs))],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=None if env is None else dict(env),
    )
    summaries: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return summaries
