"""Idempotency keys: the first response to a creating POST, replayed for its retries.

    claim = Claim.of(operation="createRun", key=header, body=body.model_dump(mode="json"))
    outcome = await run_once(store, claim, create)  # begin -> create -> complete

A key is stored per (scope, operation, key). `begin` either claims it (the caller is now
in flight and must `complete` or `release`), or returns the stored response, or raises
`IdempotencyKeyReused` (another body) / `IdempotencyInProgress` (still in flight). A claim
is a lease: one older than `lease_s` is taken to be abandoned by a dead server and can
be claimed again. Completed keys are kept `ttl_s`. Queued mode keeps them in Redis,
embedded mode in a SQLite file under RUNS_DIR (`handlers.idempotency.stores`); both are safe
across processes.
"""

import asyncio
import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import structlog

from handlers.errors import IdempotencyInProgress, IdempotencyKeyReused, ServiceUnavailable
from handlers.kit import caller

ANONYMOUS = "anonymous"  # the scope of callers without a principal (auth off, the CLI)

_log = structlog.get_logger("qers.idempotency")


def fingerprint(body: Mapping[str, Any] | None) -> str:
    """The sha256 of `body` as canonical JSON; pass `model.model_dump(mode="json")`."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """What a retry with the same key gets back: status, JSON body, resource headers."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> str:
        """The response as compact JSON."""
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def decode(cls, text: str | bytes) -> "StoredResponse":
        """The response `encode` wrote."""
        data = json.loads(text)
        return cls(int(data["status_code"]), dict(data["body"]), dict(data["headers"]))


@dataclass(frozen=True)
class Claim:
    """One request's use of a key; `token` tells its claim apart from a later takeover."""

    scope: str
    operation: str
    key: str
    fingerprint: str
    token: str = field(default_factory=lambda: secrets.token_hex(16))

    @classmethod
    def of(
        cls,
        *,
        operation: str,
        key: str,
        body: Mapping[str, Any] | None,
        scope: str | None = None,
    ) -> "Claim":
        """The claim by `scope` for `key` on `operation` (an operationId) with `body`.

        `scope` defaults to the caller's principal id: two principals' keys never meet, so
        one cannot read another's stored response by reusing its key.
        """
        owner = scope or caller.current().principal_id or ANONYMOUS
        return cls(owner, operation, key, fingerprint(body))


class IdempotencyStore(Protocol):
    """Where keys live; every method is blocking and safe across threads and processes."""

    def begin(self, claim: Claim) -> StoredResponse | None:
        """Claim the key (None) or return the response stored for it.

        Raises:
            IdempotencyKeyReused: the key is held or done with another fingerprint.
            IdempotencyInProgress: the key is held, with this fingerprint, by a live claim.
            ServiceUnavailable: the store cannot be reached.
        """
        ...

    def complete(self, claim: Claim, response: StoredResponse) -> None:
        """Store `response` for the key, kept for `ttl_s`; replaces any claim on it."""
        ...

    def release(self, claim: Claim) -> None:
        """Free the key if `claim` still holds it (the request created nothing)."""
        ...


def check_stored(
    claim: Claim, stored_fingerprint: str, response: str | bytes | None
) -> StoredResponse:
    """What an existing key means for `claim`: its stored response, or the 422/409 error."""
    if stored_fingerprint != claim.fingerprint:
        raise IdempotencyKeyReused.for_key()
    if response is None:
        raise IdempotencyInProgress.for_key()
    return StoredResponse.decode(response)


@dataclass(frozen=True)
class Outcome:
    """The response to send, and whether it was replayed from an earlier request."""

    response: StoredResponse
    replayed: bool


async def run_once(
    store: IdempotencyStore, claim: Claim, create: Callable[[], Awaitable[StoredResponse]]
) -> Outcome:
    """Run `create` at most once per key: begin, create, complete; release if it raises.

    Store calls are blocking (SQLite may wait on a lock, Redis on the network), so they
    run in worker threads, which finish even when the request is cancelled; a claim won
    by a cancelled request is released. A key that cannot be completed (the store went
    down after `create` succeeded) is logged and the new response returned: the resource
    exists, and the key stays claimed until its lease runs out.
    """
    begin = asyncio.ensure_future(asyncio.to_thread(store.begin, claim))
    try:
        stored = await asyncio.shield(begin)
    except asyncio.CancelledError:
        begin.add_done_callback(lambda done: _release_if_claimed(store, claim, done))
        raise
    if stored is not None:
        return Outcome(stored, replayed=True)
    try:
        response = await create()
    except BaseException:
        await asyncio.to_thread(_release_quietly, store, claim)
        raise
    try:
        await asyncio.to_thread(store.complete, claim, response)
    except ServiceUnavailable:
        _log.warning("idempotency key not completed", operation=claim.operation)
    return Outcome(response, replayed=False)


async def respond_once(
    store: IdempotencyStore | None,
    *,
    operation: str,
    key: str | None,
    body: Mapping[str, Any],
    create: Callable[[], Awaitable[StoredResponse]],
) -> Outcome:
    """A creating POST's answer: `create()` once per Idempotency-Key and body.

    Without a key, `create()` simply runs. With one, the same key and body get the first
    answer again (no second resource), another body a 422, a request still in flight 409.
    """
    if key is None:
        return Outcome(await create(), replayed=False)
    if store is None:
        raise RuntimeError(f"{operation} got an Idempotency-Key but no key store is set up")
    return await run_once(store, Claim.of(operation=operation, key=key, body=body), create)


def _release_if_claimed(
    store: IdempotencyStore, claim: Claim, begin: "asyncio.Future[StoredResponse | None]"
) -> None:
    if not begin.cancelled() and begin.exception() is None and begin.result() is None:
        asyncio.get_running_loop().run_in_executor(None, _release_quietly, store, claim)


def _release_quietly(store: IdempotencyStore, claim: Claim) -> None:
    # The request's own error matters more; an unreleased key frees itself at lease end.
    try:
        store.release(claim)
    except ServiceUnavailable:
        _log.warning("idempotency key not released", operation=claim.operation)
