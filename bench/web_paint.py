"""Dashboard paint: first contentful paint and data-ready of two pages, large vs small.

- `/dashboard/runs` over a store of 10,000 runs vs one of 100 (synthetic finished runs written
  as folders and indexed, as bench.runstore_listing does: no simulations). Target: data-ready
  with 10,000 runs <= 1.5 x with 100.
- `/dashboard/batches/{id}` of a real batch with 100 children vs one with 10 (drop_test, the
  same 5 profiles, 20 vs 2 DR episodes each, 20 steps, created through POST /api/sim/batch).
  Target: data-ready with 100 children <= 3 x with 10.

Each store has its own server (uvicorn in a subprocess, bench.servers). One Debian chromium
(Playwright, no browser download) loads every page, each in a fresh context (no cache carried
over); requests off this machine are aborted. Pages are loaded in interleaved rounds, in
alternating order; the figures are medians. Data-ready is `body[data-ready="1"]` (the page's
data rendered and plots drawn), in ms from navigation start, recorded in the page by a
MutationObserver; first paint is the Performance API's `first-contentful-paint`.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Browser, Error, ViewportSize, sync_playwright

from bench.report import result
from bench.servers import settle_descendants, uvicorn_server
from handlers.kit.logging import configure_logging
from handlers.runs.folders import RUN_FILE, encode_run
from handlers.runs.store import RunStore
from tests.handlers.runs.store_docs import PROFILES, SCENARIOS, START, make_run, seeded
from tests.web.conftest import LOOPBACK, chromium_path

ROUNDS = int(os.environ.get("BENCH_WEB_ROUNDS", "7"))
RUN_COUNTS = (100, 10_000)
BATCH_PROFILES = 5
BATCH_EPISODES = {10: 2, 100: 20}  # children: DR episodes per profile
BATCH_STEPS = 20
RUNS_TARGET = 1.5
BATCH_TARGET = 3.0
LOAD_TIMEOUT_MS = 60_000
PAGE_SIZE = 50  # runs on the runs page's first page (its default `limit`)
RUN_ROWS = "#runs-table tbody tr"
CHILD_ROWS = "#batch-children tbody tr"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
# Drawn uniformly: mostly successful, and only final states (nothing for the page to poll).
FINISHED = ("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED", "CANCELLED")

# Runs before any page script: note when body[data-ready] first turns "1" (or "error").
# A MutationObserver callback runs as a microtask right after the attribute is set.
WATCH_READY = """
new MutationObserver((changes, observer) => {
  const state = document.body && document.body.dataset.ready;
  if (state === "1" || state === "error") {
    window.__ready = { state, at: performance.now() };
    observer.disconnect();
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });
"""
PAINTED = """() => window.__ready && (window.__ready.state !== "1"
  || performance.getEntriesByName("first-contentful-paint").length > 0)"""
TIMES = """(rows) => ({ ready: window.__ready, rows: document.querySelectorAll(rows).length,
  problem: (document.getElementById("page-problem") || {}).innerText,
  fcp: (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime,
  loaded: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd })"""


@dataclass
class Page:
    """One page measured: its URL and the samples (ms) of every load."""

    label: str
    url: str
    rows: str  # selector of the table rows the page must show once data-ready
    count: int  # how many
    fcp: list[float] = field(default_factory=list)
    loaded: list[float] = field(default_factory=list)  # DOMContentLoaded: scripts parsed
    ready: list[float] = field(default_factory=list)


def finished_run(rng: random.Random, index: int) -> dict[str, Any]:
    """A finished run of any scenario and profile (nothing for the page to poll)."""
    return make_run(
        run_id=f"run_{rng.getrandbits(96):024x}",
        created_at=START + timedelta(seconds=index),
        status=rng.choice(FINISHED),
        scenario=rng.choice(SCENARIOS),
        profile=rng.choice(PROFILES),
        tags=["nightly"] if rng.random() < 0.5 else [],
    )


def seed_store(root: Path, count: int) -> Path:
    # Folders are written directly (no fsync), then indexed once, as the server would at start.
    rng = seeded(count)
    root.mkdir()
    for index in range(count):
        run = finished_run(rng, index)
        folder = root / run["id"]
        folder.mkdir()
        (folder / RUN_FILE).write_bytes(encode_run(run))
    RunStore(root).close()
    return root


@contextmanager
def serve(runs_dir: Path) -> Iterator[str]:
    env = {"RUNS_DIR": str(runs_dir), "QERS_LOG_LEVEL": "WARNING"}
    with uvicorn_server("handlers.app:create_app", factory=True, env=env) as port:
        yield f"http://127.0.0.1:{port}"


def create_batches(url: str) -> dict[int, str]:
    """The batch id for each child count, created through the public API."""
    with httpx.Client(base_url=url, timeout=600) as api:
        profiles = [p["name"] for p in api.get("/api/reality-profiles").json()["items"]]
        chosen = ["default", *[name for name in profiles if name != "default"]]
        ids = {}
        for children, episodes in BATCH_EPISODES.items():
            body = {
                "scenario": "drop_test",
                "profiles": chosen[:BATCH_PROFILES],
                "dr_episodes_per_profile": episodes,
                "steps": BATCH_STEPS,
                "seed": 7,
            }
            started = time.perf_counter()
            answer = api.post("/api/sim/batch", json=body)
            answer.raise_for_status()
            batch = answer.json()
            assert len(batch["children"]) == children, len(batch["children"])
            print(
                f"  batch of {children:3} children ({BATCH_PROFILES} profiles x {episodes}"
                f" episodes x {BATCH_STEPS} steps): {batch['status']} in"
                f" {time.perf_counter() - started:.1f} s"
            )
            ids[children] = batch["id"]
    return ids


def load(browser: Browser, target: Page) -> tuple[float, float, float]:
    """First contentful paint, DOMContentLoaded and data-ready (ms from navigation start) of
    one fresh load."""
    url = target.url
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.route(lambda u: urlparse(u).hostname not in LOOPBACK, lambda r: r.abort())
        context.add_init_script(WATCH_READY)
        page = context.new_page()
        page.goto(url)
        try:
            page.wait_for_function(PAINTED, timeout=LOAD_TIMEOUT_MS)
        except Error as exc:
            raise RuntimeError(f"{url} was not data-ready in {LOAD_TIMEOUT_MS} ms") from exc
        times = page.evaluate(TIMES, target.rows)
        if times["ready"]["state"] != "1":
            raise RuntimeError(f"{url} failed to load its data: {times['problem']}")
        if times["rows"] != target.count:
            raise RuntimeError(f"{url} shows {times['rows']} rows, not {target.count}")
        return float(times["fcp"]), float(times["loaded"]), float(times["ready"]["at"])
    finally:
        context.close()


def measure(browser: Browser, pages: list[Page]) -> None:
    for page in pages:  # warm-up: first requests, static files, the store's page cache
        load(browser, page)
    settle_descendants()
    for round_ in range(ROUNDS):
        for page in pages if round_ % 2 == 0 else pages[::-1]:
            fcp, loaded, ready = load(browser, page)
            page.fcp.append(fcp)
            page.loaded.append(loaded)
            page.ready.append(ready)


def report(title: str, small: Page, large: Page) -> float:
    print(f"  {title}")
    for page in (small, large):
        print(
            f"    {page.label:24} FCP {statistics.median(page.fcp):5.0f} ms,"
            f" DOMContentLoaded {statistics.median(page.loaded):5.0f} ms,"
            f" data-ready {statistics.median(page.ready):5.0f} ms"
            f" (min {min(page.ready):.0f}, max {max(page.ready):.0f})"
        )
    ratio = statistics.median(large.ready) / statistics.median(small.ready)
    print(f"    data-ready ratio {large.label} / {small.label}: {ratio:.2f}")
    return ratio


def main() -> int:
    configure_logging("WARNING")
    print(f"dashboard paint: chromium, fresh context per load, {ROUNDS} interleaved rounds")
    with tempfile.TemporaryDirectory(prefix="qers-bench-web-") as tmp, ExitStack() as stack:
        urls = {}
        for count in RUN_COUNTS:
            started = time.perf_counter()
            store = seed_store(Path(tmp) / f"runs-{count}", count)
            seconds = time.perf_counter() - started
            print(f"  store of {count:6} runs written and indexed in {seconds:.1f} s")
            urls[count] = stack.enter_context(serve(store))
        batch_url = stack.enter_context(serve(Path(tmp) / "batches"))
        batch_ids = create_batches(batch_url)
        small_runs, large_runs = (
            Page(f"runs page, {n:,} runs", f"{urls[n]}/dashboard/runs", RUN_ROWS, PAGE_SIZE)
            for n in RUN_COUNTS
        )
        small_batch, large_batch = (
            Page(
                f"batch page, {n} children",
                f"{batch_url}/dashboard/batches/{batch_ids[n]}",
                CHILD_ROWS,
                n,
            )
            for n in sorted(BATCH_EPISODES)
        )
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=chromium_path())
        stack.callback(browser.close)
        measure(browser, [small_runs, large_runs, small_batch, large_batch])
    runs_ratio = report("/dashboard/runs", small_runs, large_runs)
    batch_ratio = report("/dashboard/batches/{id}", small_batch, large_batch)
    status = result(
        "runs page data-ready 10,000/100 runs",
        f"{runs_ratio:.2f}",
        f"<= {RUNS_TARGET}",
        runs_ratio <= RUNS_TARGET,
    )
    return status | result(
        "batch page data-ready 100/10 children",
        f"{batch_ratio:.2f}",
        f"<= {BATCH_TARGET}",
        batch_ratio <= BATCH_TARGET,
    )


if __name__ == "__main__":
    sys.exit(main())
