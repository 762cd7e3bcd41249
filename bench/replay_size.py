"""Replay size for the 12-DoF quadruped (`quadruped_stand`, a1): bytes per step <= 250.

Runs through the engine directly (the same `run_spec` the simulation child calls) and
divides the compressed npz by the steps recorded; the JSON manifest is shown apart.
"""

from __future__ import annotations

import json
import sys

from bench.report import result
from simengine import api

TARGET = 250.0
STEPS = (720, 2400)  # the scenario's default, and a longer run


def main() -> int:
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
    worst = max(per_step.values())
    return result("replay bytes/step (a1)", f"{worst:.1f}", f"<= {TARGET:g}", worst <= TARGET)


if __name__ == "__main__":
    sys.exit(main())
