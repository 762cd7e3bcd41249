"""The one domain error hierarchy; every message a client can read is built here.

Code below the HTTP edge raises these; `handlers.problems` is the only place that turns
them into RFC 9457 problem documents.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar, TypedDict

PROBLEM_TYPE_BASE = "https://qers.dev/problems/"


class FieldError(TypedDict):
    """One failing field: a JSON pointer and why it failed."""

    pointer: str
    reason: str


class QersError(Exception):
    """Base of every error QERS reports to a client."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    type_slug: ClassVar[str] = "internal-error"

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

    @classmethod
    def type_uri(cls) -> str:
        """The problem `type` URI of this error class."""
        return PROBLEM_TYPE_BASE + cls.type_slug


class MalformedBody(QersError):
    """The request body cannot be read as JSON."""

    status = 400
    title = "Malformed Request Body"
    type_slug = "malformed-body"

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


class NotFoundError(QersError):
    """The resource or route does not exist."""

    status = 404
    title = "Not Found"
    type_slug = "not-found"

    @classmethod
    def resource(cls, kind: str, identifier: str) -> "NotFoundError":
        """A `kind` (e.g. "run") with this id does not exist."""
        return cls(f"{kind.capitalize()} '{identifier}' was not found.")

    @classmethod
    def route(cls, method: str, path: str) -> "NotFoundError":
        """No route matches the request."""
        return cls(f"No operation matches {method} {path}.")


class MethodNotAllowed(QersError):
    """The route exists but not for this method; carries `Allow`."""

    status = 405
    title = "Method Not Allowed"
    type_slug = "method-not-allowed"

    @classmethod
    def for_methods(cls, method: str, allow: str) -> "MethodNotAllowed":
        """`method` is not one of `allow` (the `Allow` header value)."""
        return cls(f"Method {method} is not allowed here; allowed: {allow}.", headers={"Allow": allow})


class ConflictError(QersError):
    """The request conflicts with the current state of the resource."""

    status = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(QersError):
    """The request body exceeds the configured limit."""

    status = 413
    title = "Payload Too Large"
    type_slug = "payload-too-large"

    @classmethod
    def over_limit(cls, limit_bytes: int) -> "PayloadTooLarge":
        """The body is larger than `limit_bytes`."""
        return cls(f"Request body exceeds the limit of {limit_bytes} bytes.")


class UnsupportedMediaType(QersError):
    """The body's Content-Type is not JSON."""

    status = 415
    title = "Unsupported Media Type"
    type_slug = "unsupported-media-type"

    @classmethod
    def expected_json(cls, received: str | None) -> "UnsupportedMediaType":
        """The operation takes JSON but got `received` (None: no Content-Type)."""
        got = f"'{received}'" if received else "no Content-Type"
        return cls(f"This operation takes application/json; the request sent {got}.")


class ValidationFailed(QersError):
    """One or more fields failed validation; `errors` lists them."""

    status = 422
    title = "Validation Failed"
    type_slug = "validation-failed"

    @classmethod
    def for_fields(cls, errors: Iterable[FieldError]) -> "ValidationFailed":
        """Errors, one per failing field."""
        listed = list(errors)
        noun = "field" if len(listed) == 1 else "fields"
        return cls(f"{len(listed)} {noun} failed validation.", errors=listed)


class InternalError(QersError):
    """Something failed on our side; the detail never says what."""

    @classmethod
    def unexpected(cls) -> "InternalError":
        """An unexpected exception, with nothing from it shown to the client."""
        return cls("An unexpected error occurred; quote the request_id when reporting it.")


class NotImplementedOperation(QersError):
    """The operation is in the contract but not implemented yet."""

    status = 501
    title = "Not Implemented"
    type_slug = "not-implemented"

    def __init__(self, operation_id: str) -> None:
        super().__init__(
            f"Operation '{operation_id}' is not implemented yet; see docs/status.md"
        )
        self.operation_id = operation_id


class ServiceUnavailable(QersError):
    """A dependency is down or overloaded; retry after `retry_after_s`."""

    status = 503
    title = "Service Unavailable"
    type_slug = "service-unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class UnknownSchema(NotFoundError):
    """A schema name or file that is not among the contracts."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "(none)"
        super().__init__(f"Unknown schema '{name}'; valid names: {listed}")
        self.name = name
        self.known = list(known)


class ContractLoadError(InternalError):
    """A contract file cannot be read or is not a JSON Schema document."""

    @classmethod
    def bad_file(cls, file_name: str, reason: str) -> "ContractLoadError":
        """`file_name` could not be loaded."""
        return cls(f"Cannot load contract {file_name}: {reason}")


ALL_ERROR_CLASSES: tuple[type[QersError], ...] = (
    MalformedBody,
    NotFoundError,
    MethodNotAllowed,
    ConflictError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    InternalError,
    NotImplementedOperation,
    ServiceUnavailable,
)
