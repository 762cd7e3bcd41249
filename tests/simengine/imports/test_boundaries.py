"""The import runs in a child: the API process may import its entry points and its limits
without loading pybullet, trimesh or pxr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("pybullet", "trimesh", "pxr", "scipy")


def test_the_entry_points_import_nothing_heavy() -> None:
    script = f"""
import sys
from simengine import api
import simengine.imports, simengine.imports.limits, simengine.imports.errors
assert callable(api.import_asset) and callable(api.render_preview)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r} and m != "pybullet_data")
print(",".join(heavy) or "none")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip().splitlines()[-1] == "none"


def test_every_import_module_is_small() -> None:
    sizes = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "simengine" / "imports").glob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 300} == {}
