"""`qers validate` and `qers schemas`: output and exit codes 0 / 1 / 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handlers.cli.main import app
from tests.handlers.contracts_fixture import write_contracts

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    return write_contracts(tmp_path)


@pytest.fixture
def payloads(tmp_path: Path) -> dict[str, Path]:
    files = {
        "good": {"name": "w", "options": {"steps": 3}},
        "bad": {"name": "far-too-long", "options": {"steps": 0}, "extra": 1},
        "whole": [1, 2],
    }
    out = {}
    for name, body in files.items():
        out[name] = tmp_path / f"{name}.json"
        out[name].write_text(json.dumps(body), encoding="utf-8")
    out["broken"] = tmp_path / "broken.json"
    out["broken"].write_text('{"name": ', encoding="utf-8")
    out["nan"] = tmp_path / "nan.json"
    out["nan"].write_text('{"name": NaN}', encoding="utf-8")
    return out


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_valid_payloads_exit_0(contracts: Path, payloads: dict[str, Path]) -> None:
    code, out, _ = run("validate", "Widget", payloads["good"], "--contracts", contracts)
    assert code == 0
    assert out == f"{payloads['good']}: valid\n"


def test_invalid_payload_prints_pointer_and_message_and_exits_1(
    contracts: Path, payloads: dict[str, Path]
) -> None:
    code, out, _ = run(
        "validate", "Widget", payloads["good"], payloads["bad"], "--contracts", contracts
    )
    assert code == 1
    bad = payloads["bad"]
    assert out.splitlines() == [
        f"{payloads['good']}: valid",
        f"{bad}: /extra: 'extra' is not a permitted property",
        f"{bad}: /name: 'far-too-long' is too long",
        f"{bad}: /options/steps: 0 is less than the minimum of 1",
    ]


def test_whole_document_error_prints_slash(contracts: Path, payloads: dict[str, Path]) -> None:
    code, out, _ = run("validate", "Widget", payloads["whole"], "--contracts", contracts)
    assert code == 1
    assert out == f"{payloads['whole']}: /: [1, 2] is not of type 'object'\n"


def test_schema_given_as_a_path(contracts: Path, payloads: dict[str, Path]) -> None:
    schema = contracts / "schemas" / "Widget.schema.json"
    code, out, _ = run("validate", schema, payloads["bad"], "--contracts", contracts)
    assert code == 1
    assert "/options/steps" in out


def test_unknown_schema_is_a_usage_error_listing_names(
    contracts: Path, payloads: dict[str, Path]
) -> None:
    code, out, err = run("validate", "Gadget", payloads["good"], "--contracts", contracts)
    assert code == 2
    assert out == ""
    assert "Unknown schema 'Gadget'; valid names: Options, Steps, Widget" in err


@pytest.mark.parametrize(
    ("payload", "message"),
    [("broken", "invalid JSON: Expecting value"), ("nan", "NaN is not a JSON value")],
)
def test_unparseable_payload_is_a_usage_error(
    contracts: Path, payloads: dict[str, Path], payload: str, message: str
) -> None:
    code, _, err = run("validate", "Widget", payloads[payload], "--contracts", contracts)
    assert code == 2
    assert message in err


def test_missing_payload_file_is_a_usage_error(contracts: Path, tmp_path: Path) -> None:
    code, _, err = run("validate", "Widget", tmp_path / "nope.json", "--contracts", contracts)
    assert code == 2
    assert "cannot read file" in err


def test_usage_error_wins_over_invalid(contracts: Path, payloads: dict[str, Path]) -> None:
    code, out, _ = run(
        "validate", "Widget", payloads["bad"], payloads["broken"], "--contracts", contracts
    )
    assert code == 2
    assert "/options/steps" in out  # the readable payload was still checked


def test_missing_arguments_are_a_usage_error(contracts: Path) -> None:
    assert run("validate", "Widget", "--contracts", contracts)[0] == 2
    assert run()[0] == 2


def test_missing_contracts_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("schemas", "--contracts", tmp_path / "nowhere")
    assert code == 2
    assert err


def test_schemas_lists_names(contracts: Path) -> None:
    assert run("schemas", "--contracts", contracts) == (0, "Options\nSteps\nWidget\n", "")


def test_stdin_payload(contracts: Path) -> None:
    result = CliRunner().invoke(
        app, ["validate", "Widget", "-", "--contracts", str(contracts)], input='{"name": 1}'
    )
    assert result.exit_code == 1
    assert "-: /name: 1 is not of type 'string'" in result.stdout


def test_module_entry_point(contracts: Path, payloads: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "handlers.cli.main", "validate", "Widget", str(payloads["bad"])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"QERS_CONTRACTS_DIR": str(contracts), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "/options/steps: 0 is less than the minimum of 1" in done.stdout
