"""The layers stay honest: imports point one way, and the API never loads pybullet."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("simengine", {"fastapi", "starlette", "generated", "handlers", "codegen"}),
        ("generated", {"handlers", "simengine", "codegen"}),
        ("codegen", {"generated", "handlers", "simengine", "fastapi"}),
    ],
)
def test_package_imports_point_one_way(package: str, forbidden: set[str]) -> None:
    bad = sorted((where, mod) for where, mod in _imports(package) if mod in forbidden)
    assert bad == []


def test_api_process_never_imports_pybullet(tmp_path: Path) -> None:
    script = """
import sys
from fastapi.testclient import TestClient
from handlers.app import create_app
from handlers.settings import Settings
client = TestClient(create_app(Settings(runs_dir=sys.argv[1])))
health = client.get("/v1/health").json()
assert health["engine"]["ok"], health
run = client.post("/v1/runs", json={"scenario": "drop_test", "options": {"steps": 50}})
assert run.json()["status"] == "SUCCEEDED", run.text
# pybullet_data (a folder of robot files) may load; the engine's C module never does.
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "pybullet")
print(",".join(loaded) or "none")
"""
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"
