"""One summary line per bench target, collected by `python -m bench` (make bench)."""

from __future__ import annotations

import re

PREFIX = "RESULT "
# What `python -m bench` collects from a bench's output: one match per RESULT line.
LINE = re.compile(re.escape(PREFIX) + r"(.*?\((?:target [^)]*)\) (?:PASS|MISS))")


def result(name: str, figure: str, target: str, ok: bool) -> int:
    """Print `RESULT name: figure (target) PASS|MISS`; returns the exit status (0 or 1)."""
    print(f"{PREFIX}{name}: {figure} (target {target}) {'PASS' if ok else 'MISS'}", flush=True)
    return 0 if ok else 1
