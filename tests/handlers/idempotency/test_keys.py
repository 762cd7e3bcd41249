"""Idempotency keys against a real SQLite file and a real Redis (DB_IDEMPOTENCY)."""

import asyncio
import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from handlers.errors import IdempotencyInProgress, IdempotencyKeyReused, ServiceUnavailable
from handlers.idempotency.keys import (
    ANONYMOUS,
    Claim,
    IdempotencyStore,
    StoredResponse,
    fingerprint,
    run_once,
)
from handlers.idempotency.stores import (
    SQLITE_FILE,
    RedisIdempotencyStore,
    SqliteIdempotencyStore,
    store_for,
)
from handlers.settings import Settings
from tests.redisutil import DB_IDEMPOTENCY, flush, redis_url

DAY_S = 86400
CREATED = StoredResponse(201, {"id": "run-1", "status": "QUEUED"}, {"Location": "/v1/runs/run-1"})
StoreFactory = Callable[..., IdempotencyStore]


def claim(
    body: dict[str, object] | None = None,
    *,
    key: str = "key-1",
    operation: str = "createRun",
    scope: str = ANONYMOUS,
) -> Claim:
    return Claim.of(operation=operation, key=key, body=body or {"scenario": "reach"}, scope=scope)


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Builds stores of one kind sharing one database: `make_store(ttl_s=..., lease_s=...)`."""
    if request.param == "sqlite":
        path = tmp_path / "idempotency.sqlite3"
        yield lambda *, ttl_s=DAY_S, lease_s=3600.0: SqliteIdempotencyStore(
            path, ttl_s=ttl_s, lease_s=lease_s
        )
        return
    url = redis_url(DB_IDEMPOTENCY)
    flush(url)
    client = redis.Redis.from_url(url)
    try:
        yield lambda *, ttl_s=DAY_S, lease_s=3600.0: RedisIdempotencyStore(
            client, ttl_s=ttl_s, lease_s=lease_s
        )
    finally:
        client.close()
        flush(url)


@pytest.fixture
def store(make_store: StoreFactory) -> IdempotencyStore:
    return make_store()


def test_a_new_key_is_claimed(store: IdempotencyStore) -> None:
    assert store.begin(claim()) is None


def test_a_completed_key_replays_the_stored_response(store: IdempotencyStore) -> None:
    first = claim()
    assert store.begin(first) is None
    store.complete(first, CREATED)

    assert store.begin(claim()) == CREATED
    assert store.begin(claim()) == CREATED


def test_another_body_in_flight_is_a_reused_key(store: IdempotencyStore) -> None:
    assert store.begin(claim({"scenario": "reach"})) is None
    with pytest.raises(IdempotencyKeyReused):
        store.begin(claim({"scenario": "push"}))


def test_another_body_after_completion_is_a_reused_key(store: IdempotencyStore) -> None:
    first = claim({"scenario": "reach"})
    assert store.begin(first) is None
    store.complete(first, CREATED)
    with pytest.raises(IdempotencyKeyReused):
        store.begin(claim({"scenario": "push"}))


def test_the_same_body_in_flight_is_in_progress(store: IdempotencyStore) -> None:
    assert store.begin(claim()) is None
    with pytest.raises(IdempotencyInProgress):
        store.begin(claim())


def test_release_frees_the_key(store: IdempotencyStore) -> None:
    first = claim({"scenario": "reach"})
    assert store.begin(first) is None
    store.release(first)
    # Free means free: even another body may now use the key.
    assert store.begin(claim({"scenario": "push"})) is None


def test_release_keeps_a_completed_response(store: IdempotencyStore) -> None:
    first = claim()
    assert store.begin(first) is None
    store.complete(first, CREATED)
    store.release(first)
    assert store.begin(claim()) == CREATED


def test_an_expired_lease_lets_a_new_claim_in(make_store: StoreFactory) -> None:
    store = make_store(lease_s=0.5)
    abandoned = claim()
    assert store.begin(abandoned) is None
    with pytest.raises(IdempotencyInProgress):
        store.begin(claim())
    time.sleep(0.6)

    takeover = claim()
    assert store.begin(takeover) is None
    # The abandoned request, should it come back, cannot free the new claim.
    store.release(abandoned)
    with pytest.raises(IdempotencyInProgress):
        store.begin(claim())


def test_an_expired_key_is_forgotten(make_store: StoreFactory) -> None:
    store = make_store(ttl_s=0.5)
    first = claim({"scenario": "reach"})
    assert store.begin(first) is None
    store.complete(first, CREATED)
    assert store.begin(claim({"scenario": "reach"})) == CREATED
    time.sleep(0.6)
    assert store.begin(claim({"scenario": "push"})) is None


@pytest.mark.parametrize(
    "other",
    [
        claim(scope="api-key:someone-else"),
        claim(operation="createBatch"),
        claim(key="key-2"),
        # Parts are kept apart, not just joined with ':'.
        claim(scope=f"{ANONYMOUS}:createRun", operation="key-1", key=""),
    ],
    ids=["scope", "operation", "key", "separator"],
)
def test_keys_are_independent_per_scope_and_operation(
    store: IdempotencyStore, other: Claim
) -> None:
    first = claim()
    assert store.begin(first) is None
    store.complete(first, CREATED)
    assert store.begin(other) is None


def test_exactly_one_of_sixteen_threads_claims_the_key(store: IdempotencyStore) -> None:
    barrier = threading.Barrier(16)
    results: list[str] = []

    def race() -> None:
        barrier.wait()
        results.append(_outcome(store, claim()))

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["claimed"] + ["in progress"] * 15


def test_exactly_one_of_four_processes_claims_the_key(tmp_path: Path) -> None:
    path = tmp_path / "idempotency.sqlite3"
    SqliteIdempotencyStore(path, ttl_s=DAY_S)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results: Queue[str] = context.Queue()
    processes = [
        context.Process(target=_race_in_process, args=(path, barrier, results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert outcomes == ["claimed"] + ["in progress"] * 3


def _race_in_process(path: Path, barrier: Barrier, results: "Queue[str]") -> None:
    store = SqliteIdempotencyStore(path, ttl_s=DAY_S)
    barrier.wait()
    results.put(_outcome(store, claim()))


def _outcome(store: IdempotencyStore, attempt: Claim) -> str:
    try:
        return "claimed" if store.begin(attempt) is None else "replayed"
    except IdempotencyInProgress:
        return "in progress"


def test_redis_down_is_service_unavailable() -> None:
    # No retries: the default policy backs off for seconds before giving up.
    client = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    store = RedisIdempotencyStore(client, ttl_s=DAY_S, retry_after_s=7)
    attempt = claim()
    calls: list[Callable[[], object]] = [
        lambda: store.begin(attempt),
        lambda: store.complete(attempt, CREATED),
        lambda: store.release(attempt),
    ]
    for call in calls:
        with pytest.raises(ServiceUnavailable, match="Redis is unavailable") as raised:
            call()
        assert raised.value.retry_after_s == 7
        assert raised.value.headers == {"Retry-After": "7"}
    client.close()


def test_a_locked_sqlite_file_is_service_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "idempotency.sqlite3"
    store = SqliteIdempotencyStore(path, ttl_s=DAY_S, busy_timeout_s=0.05, retry_after_s=3)

    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(ServiceUnavailable) as raised:
            store.begin(claim())
        assert raised.value.retry_after_s == 3
    finally:
        holder.close()
    assert store.begin(claim()) is None


def test_an_unreadable_sqlite_file_is_recreated(tmp_path: Path) -> None:
    path = tmp_path / "idempotency.sqlite3"
    path.write_bytes(b"not a database" * 100)
    store = SqliteIdempotencyStore(path, ttl_s=DAY_S)
    assert store.begin(claim()) is None


def test_store_for_embedded_mode_is_a_sqlite_file_under_runs_dir(tmp_path: Path) -> None:
    store = store_for(Settings(runs_dir=tmp_path / "runs"), None)
    assert isinstance(store, SqliteIdempotencyStore)
    assert store.path == tmp_path / "runs" / SQLITE_FILE
    assert store.ttl_s == DAY_S
    # Made on first use (built with the app, a bad RUNS_DIR must not stop start-up).
    assert not store.path.exists()
    assert store.begin(claim()) is None
    assert store.path.is_file()


def test_sqlite_store_on_an_unusable_runs_dir_fails_at_first_use(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = store_for(Settings(runs_dir=blocker / "runs"), None)  # nothing touched yet
    with pytest.raises(NotADirectoryError):
        store.begin(claim())


def test_store_for_queued_mode_is_redis() -> None:
    url = redis_url(DB_IDEMPOTENCY)
    client = redis.Redis.from_url(url)
    try:
        store = store_for(Settings(redis_url=url, idempotency_ttl_s=2 * DAY_S), client)
        assert isinstance(store, RedisIdempotencyStore)
        assert store.ttl_s == 2 * DAY_S
    finally:
        client.close()


def test_the_fingerprint_ignores_key_order() -> None:
    assert fingerprint({"a": 1, "b": {"c": [1, 2], "d": "é"}}) == fingerprint(
        {"b": {"d": "é", "c": [1, 2]}, "a": 1}
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1}, {"a": 2}),
        ({"a": [1, 2]}, {"a": [2, 1]}),
        ({"a": 1}, {"a": "1"}),
        ({}, None),
    ],
)
def test_the_fingerprint_tells_bodies_apart(
    one: dict[str, object] | None, other: dict[str, object] | None
) -> None:
    assert fingerprint(one) != fingerprint(other)


def test_run_once_creates_once_then_replays(store: IdempotencyStore) -> None:
    created: list[int] = []

    async def create() -> StoredResponse:
        created.append(1)
        return CREATED

    first = asyncio.run(run_once(store, claim(), create))
    again = asyncio.run(run_once(store, claim(), create))
    assert (first.response, first.replayed) == (CREATED, False)
    assert (again.response, again.replayed) == (CREATED, True)
    assert created == [1]


def test_run_once_releases_the_key_when_create_fails(store: IdempotencyStore) -> None:
    async def fail() -> StoredResponse:
        raise ValueError("no engine")

    with pytest.raises(ValueError, match="no engine"):
        asyncio.run(run_once(store, claim(), fail))
    assert store.begin(claim()) is None


def test_run_once_passes_in_progress_and_reuse_on(store: IdempotencyStore) -> None:
    async def create() -> StoredResponse:
        raise AssertionError("must not run")

    assert store.begin(claim({"scenario": "reach"})) is None
    with pytest.raises(IdempotencyInProgress):
        asyncio.run(run_once(store, claim({"scenario": "reach"}), create))
    with pytest.raises(IdempotencyKeyReused):
        asyncio.run(run_once(store, claim({"scenario": "push"}), create))


def test_run_once_cancelled_during_begin_releases_its_claim(store: IdempotencyStore) -> None:
    entered, proceed = threading.Event(), threading.Event()

    class SlowStore:
        def begin(self, attempt: Claim) -> StoredResponse | None:
            entered.set()
            proceed.wait()
            return store.begin(attempt)

        def complete(self, attempt: Claim, response: StoredResponse) -> None:
            store.complete(attempt, response)

        def release(self, attempt: Claim) -> None:
            store.release(attempt)

    async def create() -> StoredResponse:
        raise AssertionError("a cancelled request must not create")

    async def scenario() -> None:
        task = asyncio.ensure_future(run_once(SlowStore(), claim(), create))
        await asyncio.to_thread(entered.wait)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        proceed.set()  # begin now claims the key, after its caller is gone
        while True:  # until the release that follows the claim has run
            try:
                assert store.begin(claim()) is None
                return
            except IdempotencyInProgress:
                await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
