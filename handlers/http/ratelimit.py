"""`QERS_RATE_LIMIT` at the HTTP edge: per principal, per client address when anonymous.

Two layers share one `RequestLimiter` (handlers/kit/ratelimit.py):

- `RateLimitMiddleware`, inside auth, so it sees the principal: every contract operation but
  the health checks counts against `principal:<id>`, or `address:<ip>` without one (auth
  off, public operations). Past the limit: 429. Every counted response carries the
  `RateLimit-*` headers.
- `FailedAuthLimitMiddleware`, outside auth (only with auth on): every 401 counts against
  `auth-failures:<ip>`; once those are spent, the address gets 429 before its credentials
  are looked at, so keys cannot be guessed at speed (OWASP API2).

Health checks are never limited: load balancers poll them from one address, and a limited
probe would take a healthy server out of rotation. Docs, the dashboard and static files are
not counted either: they are files, not work, and a browser fetches many at once.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.errors import RateLimited
from handlers.http.auth import PRINCIPAL_STATE
from handlers.http.middleware import api_routes, matched_route
from handlers.http.problems import instance_of, render_problem
from handlers.http.requestid import new_request_id, request_id_of
from handlers.kit.ratelimit import Quota, RequestLimiter, address_key, limiter_for
from handlers.settings import Settings

EXEMPT_OPERATIONS = frozenset({"getHealth", "getApiHealth"})
LIMIT_HEADER = "RateLimit-Limit"
REMAINING_HEADER = "RateLimit-Remaining"
RESET_HEADER = "RateLimit-Reset"
RATE_LIMIT_HEADERS = (LIMIT_HEADER, REMAINING_HEADER, RESET_HEADER)


def create_limiter(settings: Settings) -> RequestLimiter | None:
    """The limiter `QERS_RATE_LIMIT` asks for, shared in Redis in the queued mode; or None."""
    if settings.rate_limit is None:
        return None
    return limiter_for(
        settings.rate_limit,
        redis_url=settings.redis_url,
        cooldown_s=settings.redis_retry_after_s,
    )


def quota_headers(quota: Quota) -> dict[str, str]:
    """The `RateLimit-*` headers of `quota` (a 429 adds `Retry-After` from its error)."""
    return {
        LIMIT_HEADER: str(quota.limit),
        REMAINING_HEADER: str(quota.remaining),
        RESET_HEADER: str(quota.reset_after_s),
    }


class RateLimitMiddleware:
    """429 once the caller's window is spent; `RateLimit-*` on every counted response."""

    def __init__(
        self, app: ASGIApp, *, limiter: RequestLimiter, operations: Sequence[APIRoute]
    ) -> None:
        self.app = app
        self._limiter = limiter
        self._operations = tuple(operations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _matches(scope, self._operations):
            await self.app(scope, receive, send)
            return
        quota = await run_in_threadpool(self._limiter.hit, _caller_key(scope))
        if quota is None:  # the storage is down: the limiter is open
            await self.app(scope, receive, send)
            return
        if not quota.allowed:
            await _refuse(scope, receive, send, self._limiter, quota)
            return
        await self.app(scope, receive, _sending_headers(send, quota_headers(quota)))


class FailedAuthLimitMiddleware:
    """Count 401s per client address; 429 for an address whose failures are spent."""

    def __init__(
        self, app: ASGIApp, *, limiter: RequestLimiter, exempt: Sequence[APIRoute]
    ) -> None:
        self.app = app
        self._limiter = limiter
        self._exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _matches(scope, self._exempt):
            await self.app(scope, receive, send)
            return
        key = "auth-failures:" + _address(scope)
        quota = await run_in_threadpool(self._limiter.peek, key)
        if quota is not None and not quota.allowed:
            await _refuse(scope, receive, send, self._limiter, quota)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                counted = await run_in_threadpool(self._limiter.hit, key)
                if counted is not None:
                    _add_headers(message, quota_headers(counted))
            await send(message)

        await self.app(scope, receive, counting_send)


def install_rate_limit(app: FastAPI, limiter: RequestLimiter | None) -> None:
    """Count every contract operation but the health checks; add it inside auth."""
    if limiter is None:
        return
    operations = [
        route
        for route in api_routes(app.router.routes)
        if route.include_in_schema and route.operation_id not in EXEMPT_OPERATIONS
    ]
    app.add_middleware(RateLimitMiddleware, limiter=limiter, operations=operations)


def install_failed_auth_limit(app: FastAPI, limiter: RequestLimiter | None) -> None:
    """Count 401s per address; add it outside auth (and only when auth is on)."""
    if limiter is None:
        return
    exempt = [r for r in api_routes(app.router.routes) if r.operation_id in EXEMPT_OPERATIONS]
    app.add_middleware(FailedAuthLimitMiddleware, limiter=limiter, exempt=exempt)


def _matches(scope: Scope, routes: Sequence[APIRoute]) -> bool:
    return matched_route(scope, routes) is not None


def _caller_key(scope: Scope) -> str:
    principal_id = getattr(_state(scope).get(PRINCIPAL_STATE), "id", None)
    if isinstance(principal_id, str):
        return "principal:" + principal_id
    return "address:" + _address(scope)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return address_key(client[0] if client else None)


def _state(scope: Scope) -> Mapping[str, Any]:
    state = scope.get("state")
    return state if isinstance(state, dict) else {}


async def _refuse(
    scope: Scope, receive: Receive, send: Send, limiter: RequestLimiter, quota: Quota
) -> None:
    error = RateLimited.retry_after(limiter.describe(), quota.reset_after_s)
    response = render_problem(
        error, instance=instance_of(scope), request_id=request_id_of(scope) or new_request_id()
    )
    response.headers.update(quota_headers(quota))
    await response(scope, receive, send)


def _sending_headers(send: Send, headers: Mapping[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            _add_headers(message, headers)
        await send(message)

    return send_with_headers


def _add_headers(message: Message, headers: Mapping[str, str]) -> None:
    message.setdefault("headers", [])
    target = MutableHeaders(scope=message)
    for name, value in headers.items():
        target[name] = value
