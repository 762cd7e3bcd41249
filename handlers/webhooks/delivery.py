"""Webhook deliveries: one signed POST per attempt, retried with jittered backoff.

Each attempt re-checks the URL with `handlers.webhooks.urlguard` and connects to the address it
resolved, never to the name again (the name is still sent as `Host` and as the TLS server
name). Every attempt becomes a `WebhookDelivery` dict; network and receiver problems are
recorded there, never raised.
"""

import random
import secrets
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from handlers.kit.timestamps import rfc3339
from handlers.settings import Settings, package_version
from handlers.webhooks.events import encode_event, sign
from handlers.webhooks.urlguard import Target, UrlRejected, resolve_target

Clock = Callable[[], datetime]
STATUS_GONE = 410
_ERROR_MAX = 500
_USER_AGENT = f"qers-webhooks/{package_version()}"


@dataclass(frozen=True)
class WebhookPolicy:
    """How deliveries are made: timeout, retry delays, jitter and the SSRF allow-list."""

    timeout_s: float = 10.0
    retry_delays_s: tuple[float, ...] = (1.0, 4.0, 16.0)
    jitter: float = 0.25  # each delay is scaled by a random factor in [1 - jitter, 1 + jitter]
    allow_hosts: tuple[str, ...] = ()
    tls_verify: ssl.SSLContext | bool = True  # True: the CA bundle httpx ships (certifi)

    @classmethod
    def from_settings(cls, settings: Settings) -> "WebhookPolicy":
        """The policy the `webhook_*` settings describe."""
        return cls(
            timeout_s=settings.webhook_timeout_s,
            retry_delays_s=tuple(settings.webhook_retry_delays_s),
            jitter=settings.webhook_retry_jitter,
            allow_hosts=tuple(settings.webhook_allow_hosts),
        )


def next_delay(retry_number: int, policy: WebhookPolicy, rng: random.Random) -> float | None:
    """Seconds to wait before retry `retry_number` (1 for the first), or None if none is left."""
    if not 1 <= retry_number <= len(policy.retry_delays_s):
        return None
    factor = 1.0 + rng.uniform(-policy.jitter, policy.jitter)
    return max(0.0, policy.retry_delays_s[retry_number - 1] * factor)


def deliver_once(
    *,
    url: str,
    secret: str,
    message_id: str,
    event_doc: Mapping[str, Any],
    attempt: int,
    policy: WebhookPolicy,
    now: Clock = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Make one delivery attempt.

    Returns:
        The `WebhookDelivery` dict, `next_attempt_at` null; failures are in `error` or
        `status_code`, never raised.
    """
    return _attempt(
        url=url,
        secret=secret,
        message_id=message_id,
        event=str(event_doc["event"]),
        body=encode_event(event_doc),
        attempt=attempt,
        policy=policy,
        now=now,
    )


def deliver_with_retries(
    *,
    url: str,
    secret: str,
    message_id: str,
    event_doc: Mapping[str, Any],
    policy: WebhookPolicy,
    record: Callable[[dict[str, Any]], None],
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    now: Clock = lambda: datetime.now(UTC),
) -> list[dict[str, Any]]:
    """Deliver until a 2xx or a 410 answer, or until the retries run out.

    `record` is called after each attempt (before waiting), with `next_attempt_at` set
    when a retry follows, so the run document can show the schedule.

    Returns:
        Every attempt's `WebhookDelivery` dict, oldest first.
    """
    rng = rng or random.Random(secrets.randbits(64))  # noqa: S311 (jitter, not crypto)
    body = encode_event(event_doc)
    deliveries: list[dict[str, Any]] = []
    for attempt in range(1, len(policy.retry_delays_s) + 2):
        delivery = _attempt(
            url=url,
            secret=secret,
            message_id=message_id,
            event=str(event_doc["event"]),
            body=body,
            attempt=attempt,
            policy=policy,
            now=now,
        )
        final = delivery["succeeded"] or delivery["status_code"] == STATUS_GONE
        delay = None if final else next_delay(attempt, policy, rng)
        if delay is not None:
            delivery["next_attempt_at"] = rfc3339(
                now() + timedelta(seconds=delay), precision="milliseconds"
            )
        deliveries.append(delivery)
        record(delivery)
        if delay is None:
            break
        sleep(delay)
    return deliveries


def _attempt(
    *,
    url: str,
    secret: str,
    message_id: str,
    event: str,
    body: bytes,
    attempt: int,
    policy: WebhookPolicy,
    now: Clock,
) -> dict[str, Any]:
    started = now()
    clock = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        target = resolve_target(url, allow_hosts=policy.allow_hosts)
        headers = sign(secret=secret, message_id=message_id, timestamp=started, body=body)
        status_code = _post(target, headers=headers, body=body, policy=policy)
    except UrlRejected as exc:
        error = exc.summary
    except httpx.TimeoutException:
        error = f"timeout after {policy.timeout_s:g} s"
    except httpx.HTTPError as exc:
        error = _describe(exc)
    duration_ms = min(600_000.0, round((time.monotonic() - clock) * 1000, 3))
    return {
        "attempt": attempt,
        "event": event,
        "attempted_at": rfc3339(started, precision="milliseconds"),
        "status_code": status_code,
        "error": error[:_ERROR_MAX] if error else None,
        "duration_ms": float(duration_ms),
        "succeeded": status_code is not None and 200 <= status_code < 300,
        "next_attempt_at": None,
    }


def _post(target: Target, *, headers: Mapping[str, str], body: bytes, policy: WebhookPolicy) -> int:
    """POST to the target's vetted addresses in turn; the status of the first that answers."""
    # trust_env=False: a proxy from the environment would resolve the name itself.
    with httpx.Client(
        timeout=policy.timeout_s,
        follow_redirects=False,
        trust_env=False,
        verify=policy.tls_verify,
    ) as client:
        *others, last = target.addresses
        for address in others:
            try:
                return _status(client, target, address, headers=headers, body=body)
            except httpx.ConnectError:  # refused, unreachable: try the next vetted address
                continue
        return _status(client, target, last, headers=headers, body=body)


def _status(
    client: httpx.Client,
    target: Target,
    address: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
) -> int:
    request = build_request(client, target, address, headers=headers, body=body)
    # Closed unread: only the status matters, and a slow or huge body must not hold us.
    response = client.send(request, stream=True)
    response.close()
    return response.status_code


def build_request(
    client: httpx.Client,
    target: Target,
    address: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
) -> httpx.Request:
    """The POST to `address`, carrying the URL's host as `Host` and as the TLS server name."""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return client.build_request(
        "POST",
        target.url_for(address),
        headers={
            **headers,
            "Host": target.host_header,
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
        },
        content=body,
        extensions=extensions,
    )


def _describe(exc: httpx.HTTPError) -> str:
    """A short, secret-free description of a transport error."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
            return "connection refused"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        cause = cause.__cause__ or cause.__context__
    kind = "connection failed" if isinstance(exc, httpx.ConnectError) else "request failed"
    return f"{kind}: {exc}" if str(exc) else f"{kind}: {type(exc).__name__}"
