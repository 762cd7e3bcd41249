"""Run-store listing: p50 of one filtered page with 10,000 runs vs 100 (target ratio <= 2).

Synthetic runs (no simulations) are written as folders, indexed by opening a RunStore,
then `list(status="SUCCEEDED", scenario="arm_reach", limit=50)` is timed on both stores in
interleaved rounds. The filter matches about half the runs, so both stores fill the page:
the ratio shows what the store's size costs, not a difference in page size. A second
figure, with uniform fields (the 100-run page then holds only a few runs), and a deep page
reached through cursors are printed for context.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.report import result
from handlers.kit.logging import configure_logging
from handlers.runs.folders import RUN_FILE, encode_run
from handlers.runs.store import RunStore
from tests.handlers.runs.store_docs import START, STATUSES, make_run, random_run, seeded

SIZES = (100, 10_000)
ROUNDS = 7
CALLS_PER_ROUND = 200
TARGET = 2.0
QUERY: dict[str, Any] = {"status": "SUCCEEDED", "scenario": "arm_reach", "limit": 50}


def skewed_run(rng: random.Random, index: int) -> dict[str, Any]:
    """Mostly successful arm_reach runs, as a nightly CI store might hold."""
    return make_run(
        run_id=f"run_{rng.getrandbits(96):024x}",
        created_at=START + timedelta(milliseconds=index),
        status="SUCCEEDED" if rng.random() < 0.75 else rng.choice(STATUSES),
        scenario="arm_reach" if rng.random() < 0.75 else "drop_test",
        tags=["nightly"] if rng.random() < 0.5 else [],
    )


def uniform_run(rng: random.Random, index: int) -> dict[str, Any]:
    """Every field uniform over its values (1 in 30 runs matches QUERY)."""
    return random_run(rng, index=index)


def build(root: Path, count: int, make: Callable[[random.Random, int], dict[str, Any]]) -> Path:
    # Folders are written directly (no fsync): this measures listing, not creation.
    rng = seeded(count)
    root.mkdir()
    for index in range(count):
        run = make(rng, index)
        folder = root / run["id"]
        folder.mkdir()
        (folder / RUN_FILE).write_bytes(encode_run(run))
    return root


def p50_ms(store: RunStore, query: dict[str, Any]) -> list[float]:
    samples = []
    for _ in range(CALLS_PER_ROUND):
        started = time.perf_counter()
        store.list(**query)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _best_ms(action: Callable[[], object], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings)


def compare(tmp: Path, label: str, make: Callable[[random.Random, int], dict[str, Any]]) -> float:
    stores: dict[int, RunStore] = {}
    for size in SIZES:
        folder = build(tmp / f"{label}-{size}", size, make)
        started = time.perf_counter()
        stores[size] = RunStore(folder)
        indexing_s = time.perf_counter() - started
        started = time.perf_counter()
        RunStore(folder).close()  # reopen: sweep + staleness check, nothing to re-read
        reopen_s = time.perf_counter() - started
        page = len(stores[size].list(**QUERY)[0])
        sync_ms = _best_ms(stores[size].sync)
        changes_ms = _best_ms(stores[size].sync_changes)
        print(
            f"  {label:8} {size:>6} runs: first open (indexing) {indexing_s * 1000:7.1f} ms,"
            f" reopen {reopen_s * 1000:6.1f} ms, sync() {sync_ms:6.1f} ms,"
            f" sync_changes() {changes_ms:.3f} ms, page holds {page} runs"
        )
    samples: dict[int, list[float]] = {size: [] for size in SIZES}
    for _ in range(ROUNDS):
        for size, store in stores.items():
            samples[size] += p50_ms(store, QUERY)
    small, large = (statistics.median(samples[size]) for size in SIZES)
    print(f"  {label:8} p50 page: {small:.3f} ms (100) vs {large:.3f} ms (10,000)")
    _, cursor = stores[SIZES[-1]].list(**QUERY)
    for _ in range(40):  # ~2,000 runs deep
        _, cursor = stores[SIZES[-1]].list(**QUERY, cursor=cursor)
    deep = statistics.median(p50_ms(stores[SIZES[-1]], {**QUERY, "cursor": cursor}))
    print(f"  {label:8} p50 page 41 of the 10,000-run store: {deep:.3f} ms")
    for store in stores.values():
        store.close()
    return large / small


def main() -> int:
    configure_logging("WARNING")
    print(f"run-store listing: list({json.dumps(QUERY)}), {ROUNDS}x{CALLS_PER_ROUND} calls each")
    with tempfile.TemporaryDirectory(prefix="qers-bench-runstore-") as tmp:
        ratio = compare(Path(tmp), "skewed", skewed_run)
        uniform = compare(Path(tmp), "uniform", uniform_run)
    print(f"  ratio 10,000/100, full pages (skewed): {ratio:.2f}  (target <= {TARGET})")
    print(f"  ratio 10,000/100, uniform fields (50 vs ~3 runs per page): {uniform:.2f}")
    return result("listing p50 10,000/100", f"{ratio:.2f}", f"<= {TARGET}", ratio <= TARGET)


if __name__ == "__main__":
    sys.exit(main())
