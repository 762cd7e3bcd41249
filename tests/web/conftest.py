"""Browser tests: a live uvicorn server with real runs, a batch, a benchmark, a project, an
asset and a plan behind it, and Debian's chromium driven by Playwright (no browser download).

`make test` installs chromium when it is missing (Makefile `browser`); without it these tests
fail with a message saying so rather than pass silently. Screenshots land in
`tests/web/artifacts/` (ignored by git), kept as test artifacts.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from handlers.app import create_app
from handlers.settings import Settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ARTIFACTS = Path(__file__).parent / "artifacts"
QERS = Path(sys.executable).with_name("qers")
CHROMIUM = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")


@dataclass
class Site:
    """The live server and what was put behind it."""

    url: str
    runs_dir: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    batch: dict[str, Any] = field(default_factory=dict)
    asset: dict[str, Any] = field(default_factory=dict)
    project: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    benchmark: dict[str, Any] = field(default_factory=dict)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120)


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """A live server for `settings` on a free loopback port; yields its URL."""
    server, thread, url = _serve(settings)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _populate(site: Site) -> None:
    """Real data through the public API (and a small benchmark through its CLI)."""
    env = {**os.environ, "RUNS_DIR": str(site.runs_dir), "QERS_LOG_LEVEL": "WARNING"}
    subprocess.run(
        [str(QERS), "bench", "gaps", "--scenario", "drop_test", "--profile", "slippery_warehouse",
         "--episodes", "1", "--steps", "60"],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    with site.api() as api:
        site.project = api.post("/api/projects", json={"name": "Web tests"}).json()
        for scenario, profile in (
            ("arm_reach", "default"),
            ("arm_reach", "slippery_warehouse"),
            ("drop_test", "worn_actuators"),
            ("push_slide", "default"),
        ):
            body = {
                "scenario": scenario,
                "options": {"profile": profile, "steps": 120, "seed": 1,
                            "project_id": site.project["id"]},
            }  # fmt: skip
            answer = api.post("/v1/runs", json=body)
            assert answer.status_code == 201, answer.text
            site.runs.append(answer.json())
        batch = {
            "scenario": "arm_reach",
            "profiles": ["default", "slippery_warehouse", "worn_actuators"],
            "dr_episodes_per_profile": 3,
            "steps": 120,
            "seed": 2,
        }
        answer = api.post("/api/sim/batch", json=batch)
        assert answer.status_code == 201, answer.text
        site.batch = answer.json()
        answer = api.post(
            "/api/assets/import-path",
            json={"source_path": "examples/simple_robot.urdf", "name": "Simple robot"},
        )
        assert answer.status_code == 201, answer.text
        site.asset = answer.json()
        answer = api.post(
            "/api/ai/plan",
            json={"task": "Does the arm reach on a slippery floor?", "scenario": "arm_reach",
                  "budget": {"max_runs": 8, "max_steps_total": 2000}},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        site.plan = answer.json()
        site.benchmark = api.get("/api/benchmarks/latest").json()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    runs_dir = tmp_path_factory.mktemp("web") / "runs"
    with served(Settings(runs_dir=runs_dir, warm_spares=0)) as url:
        site = Site(url=url, runs_dir=runs_dir)
        _populate(site)
        yield site


def chromium_path() -> str:
    for candidate in CHROMIUM:
        if shutil.which(candidate) or Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "chromium is not installed: `make test` installs it (or: apt-get install -y chromium)"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        yield browser
        browser.close()


def off_host(urls: list[str]) -> list[str]:
    """The requests that left this machine (blob: and data: URLs never do)."""
    return [
        url
        for url in urls
        if urlparse(url).scheme not in ("blob", "data") and urlparse(url).hostname not in LOOPBACK
    ]


class Watched:
    """A page with its console errors and every request it made."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert off_host(self.requests) == [], off_host(self.requests)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    # Anything not on this machine fails at once (and is still recorded as requested).
    context.route(lambda url: urlparse(url).hostname not in LOOPBACK, lambda route: route.abort())
    page = context.new_page()
    yield Watched(page)
    context.close()
