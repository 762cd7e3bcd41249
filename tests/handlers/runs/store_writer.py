"""Crash-test writer: creates and updates runs in a loop until it is killed.

Usage: python -m tests.handlers.runs.store_writer RUNS_DIR SEED

Prints one line once the store is open: the SyncReport of catching up with the previous
writer's kill, as JSON. Every artifact it writes is self-checking: its first 32 bytes
are the SHA-256 of the rest, so a torn file is detectable.
"""

import hashlib
import json
import random
import sys
from dataclasses import asdict
from datetime import UTC, datetime

from handlers.kit.logging import configure_logging
from handlers.runs.store import RunStore
from tests.handlers.runs.store_docs import make_run, seeded, timestamp

ARTIFACTS = ("metrics.json", "report.json", "replay.npz")


def sealed(rng: random.Random, size: int) -> bytes:
    """Random bytes prefixed with their SHA-256."""
    body = rng.randbytes(size)
    return hashlib.sha256(body).digest() + body


def is_sealed(data: bytes) -> bool:
    """Whether `data` is a complete `sealed` payload."""
    return len(data) >= 32 and hashlib.sha256(data[32:]).digest() == data[:32]


def main(runs_dir: str, seed: int) -> None:
    configure_logging("WARNING")  # stdout carries only the report line
    rng = seeded(seed)
    store = RunStore(runs_dir)
    print(json.dumps(asdict(store.opened_with)), flush=True)
    while True:
        run = make_run(
            run_id=f"run_{rng.getrandbits(96):024x}",
            created_at=datetime.now(UTC),
            status="CREATED",
            tags=["crash"],
        )
        files = {name: sealed(rng, rng.randint(1, 64) * 1024) for name in ARTIFACTS}
        store.create(run, files)
        for status in ("RUNNING", "SUCCEEDED"):
            run = {**run, "status": status, "started_at": timestamp(datetime.now(UTC))}
            store.update(run["id"], run)
            store.put_file(run["id"], "report.json", sealed(rng, rng.randint(1, 16) * 1024))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
