"""The one domain error hierarchy; every message a client can read is built here.

Code below the HTTP edge raises these; `handlers.http.problems` is the only place that turns
them into RFC 9457 problem documents. Problem types are `urn:qers:problem:<slug>`, the
slugs listed in contracts/schemas/Problem.schema.json and docs/errors.md.
"""

# The names say what went wrong (ValidationFailed, PayloadTooLarge); an "Error" suffix
# would only add noise at every raise site.
# ruff: noqa: N818

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Literal, TypedDict

PROBLEM_TYPE_BASE = "urn:qers:problem:"
FieldLocation = Literal["body", "query", "path", "header"]


class FieldError(TypedDict):
    """One failing input value: where it was sent, a JSON pointer to it, and why."""

    location: FieldLocation
    pointer: str
    reason: str


class QersError(Exception):
    """Base of every error QERS reports to a client."""

    status: int = 500
    title: str = "Internal server error"
    type_slug: str = "internal"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: list[FieldError] = list(errors)
        self.headers: dict[str, str] = dict(headers or {})

    def type_uri(self) -> str:
        """The problem `type` URI; `about:blank` when the status says it all."""
        return PROBLEM_TYPE_BASE + self.type_slug if self.type_slug else "about:blank"


class MalformedBody(QersError):
    """The request body cannot be read as JSON."""

    status = 400
    title = "Malformed request"
    type_slug = "malformed-request"

    @classmethod
    def invalid_json(cls, reason: str, position: int | None) -> "MalformedBody":
        """The body is not JSON; `reason` is the decoder's message."""
        where = f" at position {position}" if position is not None else ""
        return cls(f"Request body is not valid JSON: {reason}{where}.")

    @classmethod
    def not_utf8(cls) -> "MalformedBody":
        """The body is not UTF-8."""
        return cls("Request body is not valid UTF-8.")

    @classmethod
    def unreadable(cls) -> "MalformedBody":
        """The body could not be parsed for another reason."""
        return cls("Request body could not be parsed.")


class Unauthorized(QersError):
    """No valid credentials (API key or bearer token)."""

    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(QersError):
    """Valid credentials without the role this operation needs."""

    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFoundError(QersError):
    """The resource or route does not exist."""

    status = 404
    title = "Not found"
    type_slug = "not-found"

    @classmethod
    def resource(cls, kind: str, identifier: str) -> "NotFoundError":
        """A `kind` (e.g. "run") with this id does not exist."""
        return cls(f"No {kind} with id {identifier}.")

    @classmethod
    def route(cls, method: str, path: str) -> "NotFoundError":
        """No route matches the request."""
        return cls(f"No operation matches {method} {path}.")


class MethodNotAllowed(QersError):
    """The route exists but not for this method; carries `Allow`."""

    status = 405
    title = "Method not allowed"
    type_slug = "method-not-allowed"

    @classmethod
    def for_methods(cls, method: str, allow: str) -> "MethodNotAllowed":
        """`method` is not one of `allow` (the `Allow` header value)."""
        detail = f"Method {method} is not allowed here; allowed: {allow}."
        return cls(detail, headers={"Allow": allow})


class ConflictError(QersError):
    """The request conflicts with the current state of the resource."""

    status = 409
    title = "Conflict"
    type_slug = "conflict"


class IdempotencyInProgress(ConflictError):
    """The first request with this Idempotency-Key is still being processed."""

    title = "Idempotent request in progress"
    type_slug = "idempotency-in-progress"

    @classmethod
    def for_key(cls) -> "IdempotencyInProgress":
        """The first request with this key has not finished."""
        return cls("A request with this Idempotency-Key is still in progress; retry later.")


class NotAcceptable(QersError):
    """The Accept header allows none of the media types the operation can answer with."""

    status = 406
    title = "Not acceptable"
    type_slug = "not-acceptable"

    @classmethod
    def offering(cls, what: str, media_types: Sequence[str], choice: str) -> "NotAcceptable":
        """`what` is served as `media_types`; `choice` says how else to pick one."""
        offered = " or ".join(media_types)
        return cls(f"{what} is served as {offered}; Accept allows neither. {choice}")


class PayloadTooLarge(QersError):
    """The request body exceeds the configured limit."""

    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"

    @classmethod
    def over_limit(cls, limit_bytes: int) -> "PayloadTooLarge":
        """The body is larger than `limit_bytes`."""
        return cls(f"Request body exceeds the limit of {limit_bytes} bytes.")


class UnsupportedMediaType(QersError):
    """The body's Content-Type is not JSON."""

    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"

    @classmethod
    def expected_json(cls, received: str | None) -> "UnsupportedMediaType":
        """The operation takes JSON but got `received` (None: no Content-Type)."""
        got = f"'{received[:100]}'" if received else "no Content-Type"
        return cls(f"This operation takes application/json; the request sent {got}.")


class ValidationFailed(QersError):
    """One or more values failed validation; `errors` lists them."""

    status = 422
    title = "Request validation failed"
    type_slug = "validation"

    @classmethod
    def for_fields(cls, errors: Iterable[FieldError], *, limit: int = 100) -> "ValidationFailed":
        """Errors, one per failing value; only the first `limit` are listed."""
        listed = list(errors)
        noun = "field is" if len(listed) == 1 else "fields are"
        shown = f" (the first {limit} are listed)" if len(listed) > limit else ""
        return cls(f"{len(listed)} {noun} invalid{shown}.", errors=listed[:limit])

    @classmethod
    def at(cls, pointer: str, reason: str, location: FieldLocation = "body") -> "ValidationFailed":
        """One invalid value: `pointer` into the request's `location` (the body by default)."""
        return cls.for_fields([{"location": location, "pointer": pointer, "reason": reason}])


class IdempotencyKeyReused(QersError):
    """The Idempotency-Key was used before with a different body."""

    status = 422
    title = "Idempotency key reused"
    type_slug = "idempotency-key-reused"

    @classmethod
    def for_key(cls) -> "IdempotencyKeyReused":
        """Same key, different body."""
        return cls("This Idempotency-Key was already used with a different request body.")


class RateLimited(QersError):
    """The caller's `QERS_RATE_LIMIT` is spent for this window; carries `Retry-After`."""

    status = 429
    title = "Too many requests"
    type_slug = "rate-limited"

    @classmethod
    def retry_after(cls, rate: str, seconds: int) -> "RateLimited":
        """`rate` is reached; the window lets requests through again in `seconds`."""
        detail = f"The rate limit of {rate} is reached; retry after {seconds} s."
        return cls(detail, headers={"Retry-After": str(seconds)})


class InternalError(QersError):
    """Something failed on our side; the detail never says what."""

    @classmethod
    def unexpected(cls) -> "InternalError":
        """An unexpected exception, with nothing from it shown to the client."""
        return cls("An unexpected error occurred; quote the request_id when reporting it.")


class NotImplementedOperation(QersError):
    """The operation is in the contract but not implemented yet."""

    status = 501
    title = "Not implemented"
    type_slug = "not-implemented"

    def __init__(self, operation_id: str) -> None:
        super().__init__(f"Operation '{operation_id}' is not implemented yet; see docs/status.md")
        self.operation_id = operation_id


class ServiceUnavailable(QersError):
    """A dependency is down or overloaded; retry after `retry_after_s`."""

    status = 503
    title = "Service unavailable"
    type_slug = "unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class QuotaExceeded(QersError):
    """The caller holds as much unfinished work as its quota allows; retry later."""

    status = 429
    title = "Quota exceeded"
    type_slug = "quota-exceeded"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


class HttpStatusError(QersError):
    """Any other HTTP status: type `about:blank`, titled with the status phrase."""

    type_slug = ""

    def __init__(
        self, status: int, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail, headers=headers)
        self.status = status
        self.title = HTTPStatus(status).phrase


class AssetRefused(QersError):
    """An upload refused by the asset import's checks: the detail names the entry or
    element and the rule, never a server path."""

    status = 422
    title = "Asset refused"
    type_slug = "invalid-asset"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The asset was refused: {reason}")
