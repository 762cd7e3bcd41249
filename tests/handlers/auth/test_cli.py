"""`qers keys create|list|revoke`, and the key working against a real uvicorn server."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from handlers.cli.main import app

runner = CliRunner()


def test_create_list_revoke_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNS_DIR", str(tmp_path))
    made = runner.invoke(
        app, ["keys", "create", "--role", "runner", "--name", "ci", "--expires", "30d"]
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.splitlines()[-1]
    assert key.startswith("qers_")
    assert made.stdout.count(key) == 1
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (entry,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert key not in listed.stdout
    assert key.split("_")[2] not in listed.stdout
    assert (entry["name"], entry["role"], entry["revoked"]) == ("ci", "runner", None)
    assert key.startswith(f"qers_{entry['id']}_")
    assert entry["expires"]
    table = runner.invoke(app, ["keys", "list"])
    assert key not in table.stdout
    assert entry["id"] in table.stdout
    revoked = runner.invoke(app, ["keys", "revoke", entry["id"]])
    assert revoked.exit_code == 0, revoked.output
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert json.loads(listed.stdout)["revoked"]


def test_create_refuses_bad_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNS_DIR", str(tmp_path))
    assert runner.invoke(app, ["keys", "create", "--role", "root"]).exit_code == 2
    assert (
        runner.invoke(app, ["keys", "create", "--role", "viewer", "--expires", "soon"]).exit_code
        == 2
    )
    assert runner.invoke(app, ["keys", "revoke", "0123456789abcdef"]).exit_code == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_cli_key_opens_a_real_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNS_DIR", str(tmp_path))
    key = runner.invoke(app, ["keys", "create", "--role", "viewer"]).stdout.splitlines()[-1]
    port = _free_port()
    env = {**os.environ, "RUNS_DIR": str(tmp_path), "QERS_AUTH": "api_key", "QERS_WARM_SPARES": "0"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "handlers.app:create_app"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        refused = httpx.get(f"{base}/v1/runs", timeout=10)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'ApiKey realm="qers"'
        assert (
            httpx.get(f"{base}/v1/runs", headers={"X-API-Key": key}, timeout=10).status_code == 200
        )
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert b"auth_off" not in stderr
    assert key.encode() not in stderr
