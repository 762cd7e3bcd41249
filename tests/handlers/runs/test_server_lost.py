"""Real embedded servers SIGKILLed mid-run: their runs end SERVER_LOST, a live server's never.

Each server is `uvicorn --factory handlers.app:create_app` in its own process group, so
a SIGKILL of the group takes its fork server and simulation children with it, as a host
that loses the process would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.handlers.queued import free_port, wait_for

ROOT = Path(__file__).resolve().parents[3]
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
# Long enough to be certainly running when the server is killed (about a minute's work).
LONG = {"scenario": "arm_reach", "options": {"steps": 200000, "record_replay": False}}
SHORT = {"scenario": "drop_test", "options": {"steps": 20}}

pytestmark = pytest.mark.slow


class Server:
    """One embedded API server on `runs_dir`."""

    def __init__(self, runs_dir: Path, *, spares: str = "0") -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
        env.update(RUNS_DIR=str(runs_dir), QERS_LOG_LEVEL="WARNING", QERS_WARM_SPARES=spares)
        args = [sys.executable, "-m", "uvicorn", "--factory", "handlers.app:create_app"]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        wait_for(self._up, timeout_s=60, what="the server to answer")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the server exited with {self.process.returncode}")
        try:
            return self.client.get("/v1/runs", params={"limit": 1}).status_code == 200
        except httpx.TransportError:
            return False

    def submit(self, body: dict[str, Any]) -> None:
        """POST a run from a thread (embedded mode answers when it ends, or never)."""

        def post() -> None:
            with contextlib.suppress(httpx.TransportError):
                httpx.post(f"{self.client.base_url}/v1/runs", json=body, timeout=120)

        threading.Thread(target=post, daemon=True).start()

    def submit_batch(self, body: dict[str, Any]) -> None:
        """POST a batch from a thread (answered when every child ended, or never)."""

        def post() -> None:
            with contextlib.suppress(httpx.TransportError):
                httpx.post(f"{self.client.base_url}/api/sim/batch", json=body, timeout=300)

        threading.Thread(target=post, daemon=True).start()

    def running(self, count: int = 1) -> list[str]:
        """The ids of the RUNNING runs once there are `count` of them, else []."""
        page = self.client.get("/v1/runs", params={"status": "RUNNING", "limit": 1000}).json()
        ids = [run["id"] for run in page["items"]]
        return ids if len(ids) == count else []

    def kill(self) -> None:
        """SIGKILL the whole process group: server, fork server, children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.client.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def _on_disk(runs_dir: Path) -> dict[str, dict[str, Any]]:
    """Every run folder's run.json, read directly (no server recovers anything on read)."""
    return {
        path.parent.name: json.loads(path.read_text()) for path in runs_dir.glob("run_*/run.json")
    }


def test_runs_of_killed_servers_end_server_lost(tmp_path: Path, servers: list[Server]) -> None:
    killed: set[str] = set()
    for _ in range(4):
        server = Server(tmp_path)
        servers.append(server)
        # Recovered at start, before anything read them: the last round's runs are final.
        assert all(_on_disk(tmp_path)[i]["status"] == "FAILED" for i in killed)
        assert server.client.post("/v1/runs", json=SHORT).json()["status"] == "SUCCEEDED"
        for _ in range(3):
            server.submit(LONG)
        killed |= set(wait_for(partial(server.running, 3), timeout_s=30, what="3 runs"))
        server.kill()
    server = Server(tmp_path)
    servers.append(server)
    runs = _on_disk(tmp_path)
    assert len(killed) == 12
    assert {i: runs[i]["failure_code"] for i in killed} == dict.fromkeys(killed, "SERVER_LOST")
    assert all(run["status"] in FINAL for run in runs.values()), runs
    assert all(runs[i]["finished_at"] and runs[i]["artifacts"]["report"] for i in killed)
    page = server.client.get("/v1/runs", params={"limit": 1000}).json()
    assert page["next_cursor"] is None
    assert {run["id"]: run["status"] for run in page["items"]} == {
        run_id: run["status"] for run_id, run in runs.items()
    }


def test_a_live_servers_runs_are_never_failed(tmp_path: Path, servers: list[Server]) -> None:
    first = Server(tmp_path)
    servers.append(first)
    first.submit(LONG)
    (run_id,) = wait_for(first.running, timeout_s=30, what="the run to start")
    second = Server(tmp_path)  # recovers at start: the first server is alive
    servers.append(second)
    assert second.client.get(f"/v1/runs/{run_id}").json()["status"] == "RUNNING"
    assert second.running() == [run_id]
    assert _on_disk(tmp_path)[run_id]["status"] == "RUNNING"
    first.kill()
    lost = second.client.get(f"/v1/runs/{run_id}").json()  # a read recovers it now
    assert (lost["status"], lost["failure_code"]) == ("FAILED", "SERVER_LOST")


# Many short children, so a kill finds some finished, some running and some not started.
BATCH = {
    "scenario": "drop_test",
    "profiles": ["default", "worn_actuators", "slippery_warehouse"],
    "dr_episodes_per_profile": 40,
    "steps": 400,
}


def _children_done(server: Server, count: int) -> bool:
    page = server.client.get("/v1/runs", params={"status": "SUCCEEDED", "limit": 1000}).json()
    return len([run for run in page["items"] if run["batch_id"]]) >= count


def test_a_batch_killed_mid_way_leaves_every_child_complete_or_failed(
    tmp_path: Path, servers: list[Server]
) -> None:
    # The pool of warm children on (2), as in production; batch children's RUNNING
    # records are written without fsync, their final states with.
    done = 0
    for _ in range(3):
        server = Server(tmp_path, spares="2")
        servers.append(server)
        server.submit_batch(BATCH)
        done += 5
        wait_for(partial(_children_done, server, done), timeout_s=120, what="children")
        server.kill()
    server = Server(tmp_path, spares="2")
    servers.append(server)
    runs = _on_disk(tmp_path)
    children = {i: run for i, run in runs.items() if run["batch_id"]}
    assert len({run["batch_id"] for run in children.values()}) == 3
    assert all(run["status"] in FINAL for run in runs.values()), runs
    for run_id, run in children.items():
        if run["status"] == "SUCCEEDED":  # complete: every artifact it lists is there
            for name in ("metrics.json", "replay.npz", "replay.json", "report.json"):
                assert (tmp_path / run_id / name).is_file(), (run_id, name)
            metrics = server.client.get(f"/v1/runs/{run_id}/metrics")
            assert metrics.status_code == 200
        else:
            assert run["failure_code"] == "SERVER_LOST", run
    page = server.client.get("/v1/runs", params={"limit": 1000}).json()
    assert {run["id"]: run["status"] for run in page["items"]} == {
        run_id: run["status"] for run_id, run in runs.items()
    }
    for batch_id in {run["batch_id"] for run in children.values()}:
        report = server.client.get(f"/api/sim/batch/{batch_id}")
        assert report.status_code == 200, report.text
