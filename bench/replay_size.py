"""Replay size for the 12-DoF quadruped (`quadruped_stand`, a1): bytes per step <= 250.

Runs through the engine directly (the same `run_spec` the simulation child calls) and
divides the compressed npz by the steps recorded; the JSON manifest is shown apart. For
context (no target): a short r2d2 run (its replay is DEFLATE, under
`npzfile.LZMA_FROM_BYTES`), and each replay's best encode and decode time.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.report import result
from simengine import api, replay

TARGET = 250.0
STEPS = (720, 2400)  # the scenario's default, and a longer run
SHORT: dict[str, Any] = {"scenario": "urdf_rollout", "steps": 240, "seed": 1}  # r2d2
ROUNDS = 20


def _best_ms(call: Callable[[], object], rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - began)
    return best * 1e3


def _codec_times(npz: bytes) -> str:
    arrays = replay.from_npz(npz)
    encode = _best_ms(lambda: replay.to_npz(arrays))
    decode = _best_ms(lambda: replay.from_npz(npz))
    return f"to_npz {encode:.2f} ms, from_npz {decode:.2f} ms (best of {ROUNDS})"


def main() -> int:
    short = api.run_spec(SHORT)["replay_npz"]
    print(f"short run: urdf_rollout (r2d2), {SHORT['steps']} steps, seed 1")
    print(f"  npz {len(short):,} bytes = {len(short) / SHORT['steps']:.1f} bytes/step")
    print(f"  {_codec_times(short)}")
    print("replay size: quadruped_stand (a1, 12 DoF), profile default, seed 1")
    per_step: dict[int, float] = {}
    for steps in STEPS:
        out = api.run_spec({"scenario": "quadruped_stand", "steps": steps, "seed": 1})
        npz = out["replay_npz"]
        manifest = json.dumps(out["manifest"], separators=(",", ":")).encode()
        per_step[steps] = len(npz) / steps
        print(
            f"  {steps:5} steps: npz {len(npz):8,} bytes = {per_step[steps]:6.1f} bytes/step;"
            f" manifest {len(manifest):,} bytes (+{len(manifest) / steps:.1f}/step)"
        )
        print(f"               {_codec_times(npz)}")
    worst = max(per_step.values())
    return result("replay bytes/step (a1)", f"{worst:.1f}", f"<= {TARGET:g}", worst <= TARGET)


if __name__ == "__main__":
    sys.exit(main())
