"""Engine per-step cost: our stepping loop vs a raw pybullet loop on the same robot.

Both run `urdf_rollout` (r2d2 on the floor, every joint swept) in this process, side by
side in interleaved rounds. The loop rate is timed between the first and the last
progress tick (1% and 100% of the steps), so set-up and result encoding are excluded on
both sides; the whole-call ratio (set-up included) is printed for context, with a
cProfile of one of our runs showing where the time goes. The raw loop commands the actions
our run applied (the same physics: `bench.rawloop`), in a process whose glibc thresholds
are fixed (`rawloop.steady_malloc`). Target: ours >= 0.9 x raw.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import rawloop
from bench.report import result
from simengine import api

STEPS = int(os.environ.get("BENCH_ENGINE_STEPS", "2400"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET = 0.9
SPEC: dict[str, Any] = {"scenario": "urdf_rollout", "profile": "default", "seed": 0}


class LoopClock:
    """Steps/s between the first and the last progress tick."""

    def __init__(self) -> None:
        self.first: tuple[int, float] | None = None
        self.last: tuple[int, float] | None = None

    def tick(self, done: int, _total: int = 0) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = (done, now)
        self.last = (done, now)

    def rate(self) -> float:
        if self.first is None or self.last is None:
            raise RuntimeError("no progress ticks")
        return (self.last[0] - self.first[0]) / (self.last[1] - self.first[1])


def ours(record_replay: bool = True) -> tuple[float, float]:
    clock = LoopClock()
    started = time.perf_counter()
    api.run_spec({**SPEC, "steps": STEPS, "record_replay": record_replay}, progress=clock.tick)
    return clock.rate(), STEPS / (time.perf_counter() - started)


def raw(actions: Any) -> tuple[float, float]:
    clock = LoopClock()
    whole = rawloop.run(STEPS, tick=clock.tick, actions=actions)
    return clock.rate(), STEPS / whole


def profile_ours(top: int = 12) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    api.run_spec({**SPEC, "steps": STEPS // 2})
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("tottime").print_stats(top)
    lines = buffer.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    return "\n".join("    " + line for line in lines[start : start + top + 1])


def main() -> int:
    rawloop.steady_malloc()
    actions = rawloop.applied_actions({**SPEC, "steps": STEPS})  # the episode `ours` runs
    variants: dict[str, Callable[[], tuple[float, float]]] = {
        "ours": ours,
        "ours, no replay": lambda: ours(record_replay=False),
        "raw": lambda: raw(actions),
    }
    for run in variants.values():  # warm-up: imports, file caches
        run()
    loop: dict[str, list[float]] = {name: [] for name in variants}
    whole: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, run in variants.items():
            rate, overall = run()
            loop[name].append(rate)
            whole[name].append(overall)
    print(f"engine per-step cost: urdf_rollout (r2d2), {STEPS} steps, {ROUNDS} interleaved rounds")
    for name in variants:
        rates = ", ".join(f"{r:,.0f}" for r in loop[name])
        print(f"  {name:16} loop steps/s: {rates}")
    med = {name: statistics.median(loop[name]) for name in variants}
    med_whole = {name: statistics.median(whole[name]) for name in variants}
    for name in variants:
        print(
            f"  {name:16} median loop {med[name]:9,.0f} steps/s ({1e6 / med[name]:.1f} us/step),"
            f" whole call incl. set-up {med_whole[name]:9,.0f} steps/s"
        )
    # Paired by round: drift in machine load between rounds cancels out.
    ratio = statistics.median(o / r for o, r in zip(loop["ours"], loop["raw"], strict=True))
    bare = statistics.median(
        o / r for o, r in zip(loop["ours, no replay"], loop["raw"], strict=True)
    )
    overhead_us = 1e6 / med["ours"] - 1e6 / med["raw"]
    print(f"  our overhead per step over raw: {overhead_us:.0f} us")
    print(f"  ratio ours/raw (median of per-round ratios): {ratio:.2f}")
    print(f"  ratio without replay recording: {bare:.2f}")
    print(
        f"  ratio whole call (set-up, replay encoding): {med_whole['ours'] / med_whole['raw']:.2f}"
    )
    print("  where our time goes (cProfile of one run, by own time; profiling inflates Python):")
    print(profile_ours())
    return result("engine steps/s ours/raw", f"{ratio:.2f}", f">= {TARGET}", ratio >= TARGET)


if __name__ == "__main__":
    sys.exit(main())
