"""The one mapping from errors to RFC 9457 `application/problem+json` responses."""

from collections.abc import Mapping, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from handlers.errors import (
    AssetRefused,
    ConflictError,
    FieldError,
    FieldLocation,
    Forbidden,
    HttpStatusError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InternalError,
    MalformedBody,
    MethodNotAllowed,
    NotFoundError,
    NotImplementedOperation,
    PayloadTooLarge,
    QersError,
    QuotaExceeded,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from handlers.http.requestid import new_request_id, request_id_of
from handlers.kit.jsonpointer import to_pointer

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Keep these within the bounds of contracts/schemas/Problem.schema.json.
MAX_INSTANCE_CHARS = 2048
MAX_DETAIL_CHARS = 2000
MAX_POINTER_CHARS = 1024
MAX_REASON_CHARS = 1000
MAX_FIELD_ERRORS = 100

# Every problem type QERS emits, in docs/errors.md order.
PROBLEM_CLASSES: tuple[type[QersError], ...] = (
    MalformedBody,
    Unauthorized,
    Forbidden,
    NotFoundError,
    MethodNotAllowed,
    ConflictError,
    IdempotencyInProgress,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    AssetRefused,
    IdempotencyKeyReused,
    InternalError,
    NotImplementedOperation,
    ServiceUnavailable,
    RateLimited,
    QuotaExceeded,
)

_log = structlog.get_logger("qers.problems")


class ProblemResponse(JSONResponse):
    """A JSON response served as `application/problem+json`."""

    media_type = PROBLEM_MEDIA_TYPE


def problem_body(error: QersError, *, instance: str, request_id: str) -> dict[str, Any]:
    """The problem document for `error`, clipped to the Problem contract's bounds."""
    return {
        "type": error.type_uri(),
        "title": error.title,
        "status": error.status,
        "detail": error.detail[:MAX_DETAIL_CHARS],
        "instance": instance[:MAX_INSTANCE_CHARS],
        "request_id": request_id,
        "errors": [dict(entry) for entry in error.errors[:MAX_FIELD_ERRORS]],
    }


def render_problem(error: QersError, *, instance: str, request_id: str) -> ProblemResponse:
    """The problem response for `error`, with its headers (e.g. `Allow`, `Retry-After`)."""
    body = problem_body(error, instance=instance, request_id=request_id)
    return ProblemResponse(body, status_code=error.status, headers=error.headers or None)


def unexpected_error_response(
    exc: BaseException, *, instance: str, request_id: str
) -> ProblemResponse:
    """Log `exc` with its traceback; answer 500 without anything from it."""
    _log.error("unhandled_exception", exc_info=exc, request_id=request_id)
    return render_problem(InternalError.unexpected(), instance=instance, request_id=request_id)


def instance_of(scope: Mapping[str, Any]) -> str:
    """The problem `instance`: the request path as the client sent it."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    return path[:MAX_INSTANCE_CHARS]


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error `app` can emit a problem document."""
    app.add_exception_handler(QersError, _on_error)
    app.add_exception_handler(RequestValidationError, _on_error)
    app.add_exception_handler(StarletteHTTPException, _on_error)
    app.add_exception_handler(Exception, _on_unexpected)


def to_qers_error(exc: Exception, request: Request) -> QersError | None:
    """The domain error that `exc` stands for; None for an unexpected exception."""
    if isinstance(exc, QersError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _from_validation(exc, request)
    if isinstance(exc, StarletteHTTPException):
        return _from_http(exc, request)
    return None


def field_errors(errors: Sequence[Mapping[str, Any]], body: Any) -> list[FieldError]:
    """One entry per failing field, pointer built from pydantic's `loc`."""
    out: list[FieldError] = []
    seen: set[tuple[str, str, str]] = set()
    for error in errors:
        location, pointer = _locate(tuple(error.get("loc", ())), body)
        pointer = pointer[:MAX_POINTER_CHARS]
        reason = str(error.get("msg") or "invalid value")[:MAX_REASON_CHARS]
        if (location, pointer, reason) not in seen:
            seen.add((location, pointer, reason))
            out.append(FieldError(location=location, pointer=pointer, reason=reason))
    return out


async def _on_error(request: Request, exc: Exception) -> Response:
    error = to_qers_error(exc, request)
    scope = request.scope
    if error is None:
        return unexpected_error_response(exc, instance=instance_of(scope), request_id=_rid(scope))
    return render_problem(error, instance=instance_of(scope), request_id=_rid(scope))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Reached only when RequestContextMiddleware is not installed.
    scope = request.scope
    return unexpected_error_response(exc, instance=instance_of(scope), request_id=_rid(scope))


def _rid(scope: MutableMapping[str, Any]) -> str:
    return request_id_of(scope) or new_request_id()


def _from_validation(exc: RequestValidationError, request: Request) -> QersError:
    errors = exc.errors()
    for error in errors:
        if error.get("type") == "json_invalid":
            loc = error.get("loc", ())
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            reason = str((error.get("ctx") or {}).get("error", "decode error"))
            return MalformedBody.invalid_json(reason, position)
    if errors and all(tuple(error.get("loc", ()))[:1] == ("path",) for error in errors):
        # The path fits this route by shape only (`GET /api/assets/import` is no asset id):
        # if routes of other methods serve it, the method is what is wrong.
        allowed = _allowed_methods(request)
        if allowed:
            return MethodNotAllowed.for_methods(request.method, allowed)
    if isinstance(exc.body, bytes | bytearray):
        # FastAPI leaves the body as bytes only when its Content-Type is not JSON.
        return UnsupportedMediaType.expected_json(request.headers.get("content-type"))
    return ValidationFailed.for_fields(field_errors(errors, exc.body), limit=MAX_FIELD_ERRORS)


def _from_http(exc: StarletteHTTPException, request: Request) -> QersError:
    cause = exc.__cause__
    if isinstance(cause, QersError):  # e.g. PayloadTooLarge raised while FastAPI read the body
        return cause
    status = exc.status_code
    default_detail = exc.detail == HTTPStatus(status).phrase
    if status == 400:
        if isinstance(cause, UnicodeDecodeError):
            return MalformedBody.not_utf8()
        return MalformedBody.unreadable() if cause or default_detail else MalformedBody(exc.detail)
    if status == 404:
        path = instance_of(request.scope)
        return (
            NotFoundError.route(request.method, path)
            if default_detail
            else NotFoundError(exc.detail)
        )
    if status == 405:
        return MethodNotAllowed.for_methods(request.method, _allowed_methods(request))
    if status == 413:
        return PayloadTooLarge(exc.detail)
    return HttpStatusError(status, exc.detail, headers=exc.headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    # Starlette's `Allow` names only the first route with this path; each method of a
    # path is its own route here, so ask every route about every method.
    # A route counts only if its path parameters accept the path's values: `GET
    # /api/assets/{asset_id}` matches `/api/assets/import` by shape, but no asset id is
    # "import", so that path allows POST only.
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        routes = request.app.router.routes
        if any(isinstance(r, BaseRoute) and _serves(r, scope) for r in routes):
            allowed.append(method)
    return ", ".join(allowed)


def _serves(route: BaseRoute, scope: MutableMapping[str, Any]) -> bool:
    match, child = route.matches(scope)
    if match != Match.FULL:
        return False
    included = getattr(route, "original_router", None)  # FastAPI's include_router wrapper
    if included is not None:
        return any(isinstance(r, BaseRoute) and _serves(r, scope) for r in included.routes)
    params = child.get("path_params", {})
    dependant = getattr(route, "dependant", None)
    for param in getattr(dependant, "path_params", ()):
        _, errors = param.validate(params.get(param.alias), {}, loc=("path", param.alias))
        if errors:
            return False
    return True


def _locate(loc: tuple[Any, ...], body: Any) -> tuple[FieldLocation, str]:
    # Body: a pointer into the JSON body. Parameters: "/<name>" as the contract names it.
    where, rest = (loc[0], loc[1:]) if loc else ("body", ())
    if where == "query":
        return "query", to_pointer(rest)
    if where == "path":
        return "path", to_pointer(rest)
    if where in ("header", "cookie"):  # cookies travel in a header
        return "header", to_pointer(rest)
    return "body", to_pointer(_tokens_in(body, rest))


def _tokens_in(document: Any, loc: tuple[Any, ...]) -> list[str | int]:
    # pydantic adds union-member tags ("RunCreate", "int", ...) to `loc`; keep only the
    # tokens that walk the document, plus a final missing key.
    tokens: list[str | int] = []
    current = document
    last = len(loc) - 1
    for index, token in enumerate(loc):
        if _steps_into(current, token):
            current = current[token]
        elif not (index == last and isinstance(current, dict) and isinstance(token, str)):
            continue
        tokens.append(token)
    return tokens


def _steps_into(document: Any, token: Any) -> bool:
    if isinstance(document, dict):
        return isinstance(token, str) and token in document
    if isinstance(document, list):
        return isinstance(token, int) and 0 <= token < len(document)
    return False
