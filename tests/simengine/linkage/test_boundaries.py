"""The API process validates and builds linkages without loading the physics stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_linkage_loads_no_pybullet_trimesh_or_scipy() -> None:
    script = """
import sys
import simengine.design.linkage
heavy = {"pybullet", "pybullet_data", "trimesh", "scipy"}
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
