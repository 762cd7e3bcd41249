"""mypy holds handlers to the generated Protocols: a wrong signature is a type error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_WRONG = """
from dataclasses import replace

from fastapi import Response

from generated.models import Health
from handlers.app import create_handlers
from handlers.settings import Settings


class WrongHealth:
    async def get_health(self, *, response: Response) -> Health:
        raise NotImplementedError

    async def get_api_health(self, *, verbose: bool, response: Response) -> Health:
        raise NotImplementedError


registry = replace(create_handlers(Settings()), health=WrongHealth())
"""


def _mypy(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    module = tmp_path / "handler_under_test.py"
    module.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(module)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_a_handler_with_a_wrong_signature_fails_typecheck(tmp_path: Path) -> None:
    result = _mypy(_WRONG, tmp_path)
    assert result.returncode == 1, result.stdout
    assert "HealthHandler" in result.stdout
    assert "get_api_health" in result.stdout


def test_the_right_signature_passes(tmp_path: Path) -> None:
    right = _WRONG.replace("*, verbose: bool, response", "*, response")
    result = _mypy(right, tmp_path)
    assert result.returncode == 0, result.stdout
