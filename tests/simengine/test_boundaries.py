"""simengine stays below the web layers, and its listings do not need the physics engine."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"fastapi", "starlette", "generated", "handlers", "codegen", "pydantic"}


def test_simengine_imports_no_web_modules() -> None:
    bad = []
    for path in (ROOT / "simengine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            bad += [(path.name, n) for n in names if n.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_listing_and_validation_do_not_load_pybullet() -> None:
    script = """
import sys
from simengine import api, errors, spec
assert len(api.list_scenarios()) >= 5 and len(api.list_profiles()) >= 5
try:
    api.run_spec({"scenario": "nope"})
except errors.UnknownScenario:
    pass
spec.validate({"scenario": "drop_test", "steps": 10})
print(sorted(m for m in sys.modules if m.startswith("pybullet")))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "['pybullet_data']"
