"""Pure ASGI middleware: request ids, the access log, 500 problems, the body-size limit."""

from collections.abc import Iterable, Iterator, Mapping
from time import perf_counter

import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.errors import PayloadTooLarge
from handlers.http.deprecation import route_deprecation_headers
from handlers.http.problems import instance_of, render_problem, unexpected_error_response
from handlers.http.requestid import (
    DEFAULT_HEADER,
    accept_or_generate,
    new_request_id,
    request_id_of,
)
from handlers.http.requestid import store as store_request_id
from handlers.kit.logging import log_access
from handlers.settings import Settings

UNMATCHED_ROUTE = "<unmatched>"
MULTIPART = "multipart/form-data"

_log = structlog.get_logger("qers.middleware")


class RequestContextMiddleware:
    """Request id in scope, logs and response; one access line; 500 problem on a crash."""

    def __init__(self, app: ASGIApp, *, header: str = DEFAULT_HEADER) -> None:
        self.app = app
        self._header = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        request_id = accept_or_generate(_header_value(scope["headers"], self._header))
        store_request_id(scope, request_id)
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        id_header = (self._header, request_id.encode("latin-1"))
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                deprecation = route_deprecation_headers(scope.get("route"))
                message["headers"] = [*message.get("headers", ()), id_header, *deprecation]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status is not None:  # too late for a problem document: let the server abort
                _log.error("exception_after_response_started", exc_info=exc)
                raise
            response = unexpected_error_response(
                exc, instance=instance_of(scope), request_id=request_id
            )
            await response(scope, receive, send_with_id)
        finally:
            log_access(
                method=scope["method"],
                route=getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE,
                status=status,
                duration_ms=round((perf_counter() - started) * 1000.0, 3),
                request_id=request_id,
                principal=getattr(scope.get("state", {}).get("principal"), "id", None),
            )
            structlog.contextvars.reset_contextvars(**tokens)


class BodyLimitMiddleware:
    """413 when the declared or streamed request body exceeds `max_body_bytes`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        uploads: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # (method, path) of the upload operations -> their own, larger limit.
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get((scope["method"], scope["path"]), self.max_body_bytes)
        declared = _content_length(scope["headers"])
        if declared is not None:
            if declared > limit:
                response = render_problem(
                    PayloadTooLarge.over_limit(limit),
                    instance=instance_of(scope),
                    request_id=request_id_of(scope) or new_request_id(),
                )
                await response(scope, receive, send)
                return
            # The server delivers no more than Content-Length bytes.
            await self.app(scope, receive, send)
            return
        await self.app(scope, self._limited(receive, limit), send)

    def _limited(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the body read; problems.py unwraps it from FastAPI's 400.
                    raise PayloadTooLarge.over_limit(limit)
            return message

        return limited_receive


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Add both middlewares, request context outermost so a 413 carries a request id."""
    uploads = {route: settings.max_upload_bytes for route in upload_routes(app)}
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, uploads=uploads)
    app.add_middleware(RequestContextMiddleware, header=settings.request_id_header)


def upload_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every operation whose contract body is `multipart/form-data`."""
    found = []
    for route in api_routes(app.router.routes):
        body = (route.openapi_extra or {}).get("requestBody", {})
        if MULTIPART in body.get("content", {}):
            if "{" in route.path:
                raise ValueError(f"an upload path takes no parameters: {route.path}")
            found += [(method, route.path) for method in route.methods or ()]
    return found


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every `APIRoute` of `routes`, those of included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's include_router wrapper
        if included is not None:
            yield from api_routes(included.routes)


def matched_route(scope: Scope, routes: Iterable[APIRoute]) -> APIRoute | None:
    """The route of `routes` that fully matches the request, or None."""
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def _header_value(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    value = _header_value(headers, b"content-length")
    return int(value) if value is not None and value.isdigit() else None
