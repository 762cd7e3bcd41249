"""The auth gate at the HTTP edge: every contract operation passes `Gate.admit` first.

The route's operationId decides what a request needs (the role table lives with the gate,
in handlers/auth/); requests that reach no operation (`/docs`, `/redoc`, `/openapi.json`,
the dashboard, static files) need a principal only when `Gate.protect_docs` says so.
Credentials are checked on a worker thread: a key lookup reads SQLite, a JWKS URL may be
fetched.
"""

from collections.abc import Mapping, Sequence
from typing import Protocol

import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from handlers.errors import QersError
from handlers.http.middleware import api_routes, matched_route
from handlers.http.problems import instance_of, render_problem
from handlers.http.requestid import new_request_id, request_id_of
from handlers.kit import caller

PRINCIPAL_STATE = "principal"  # request.state.principal: who called, when auth is on

_log = structlog.get_logger("qers.auth")


class Principal(Protocol):
    """Who called (handlers.auth.Principal): an id and the projects it is bound to."""

    @property
    def id(self) -> str: ...
    @property
    def projects(self) -> tuple[str, ...]: ...


class Gate(Protocol):
    """Decides whether a request may reach what it asks for (handlers.auth.Authenticator)."""

    protect_docs: bool

    def admit(self, operation_id: str, headers: Mapping[str, str]) -> Principal | None:
        """The principal allowed `operation_id`, None if it is public; raises 401/403."""
        ...

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The principal the credentials name; raises 401."""
        ...


class AuthMiddleware:
    """401/403 problems before any contract operation runs without its role."""

    def __init__(self, app: ASGIApp, *, gate: Gate, operations: Sequence[APIRoute]) -> None:
        self.app = app
        self._gate = gate
        self._operations = tuple(operations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        operation_id = self._operation_id(scope)
        if operation_id is None and not self._gate.protect_docs:
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        principal: Principal | None
        try:
            if operation_id is None:
                principal = await run_in_threadpool(self._gate.authenticate, headers)
            else:
                principal = await run_in_threadpool(self._gate.admit, operation_id, headers)
        except QersError as error:
            response = render_problem(
                error,
                instance=instance_of(scope),
                request_id=request_id_of(scope) or new_request_id(),
            )
            await response(scope, receive, send)
            return
        if principal is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        # The services see the caller's projects and id through `handlers.kit.caller`.
        with caller.entered(caller.CallerScope.of(principal.id, principal.projects)):
            await self.app(scope, receive, send)

    def _operation_id(self, scope: Scope) -> str | None:
        route = matched_route(scope, self._operations)
        return route.operation_id if route is not None else None


def install_auth(app: FastAPI, gate: Gate | None) -> None:
    """Put `gate` in front of every published operation; None: auth is off (a warning)."""
    if gate is None:
        _log.warning("auth_off", detail="QERS_AUTH=off: every operation is open to anyone")
        return
    operations = [route for route in api_routes(app.router.routes) if route.include_in_schema]
    missing = [route.path for route in operations if not route.operation_id]
    if missing:
        raise ValueError(f"a published route has no operationId: {missing[0]}")
    app.add_middleware(AuthMiddleware, gate=gate, operations=operations)
