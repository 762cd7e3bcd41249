"""The 401 and 403 errors of authentication, with their `WWW-Authenticate` challenges."""

from collections.abc import Sequence

from handlers.errors import Forbidden, Unauthorized

REALM = 'realm="qers"'
NO_CREDENTIALS = "This operation needs credentials: an API key in X-API-Key or a bearer token."
INVALID_KEY = "The API key is not valid: unknown, revoked or expired."


def missing_credentials(schemes: Sequence[str]) -> Unauthorized:
    """No credentials of an enabled kind; `schemes`: one challenge each ("ApiKey", "Bearer")."""
    challenge = ", ".join(f"{scheme} {REALM}" for scheme in schemes)
    return Unauthorized(NO_CREDENTIALS, headers={"WWW-Authenticate": challenge})


def invalid_key() -> Unauthorized:
    """The API key is unknown, wrong, revoked or expired (which one is logged, not told)."""
    return Unauthorized(INVALID_KEY, headers={"WWW-Authenticate": f"ApiKey {REALM}"})


def invalid_token(reason: str) -> Unauthorized:
    """The bearer token failed validation (RFC 6750 `invalid_token`)."""
    reason = reason.replace('"', "'").replace("\\", "/")[:200]
    challenge = f'Bearer {REALM}, error="invalid_token", error_description="{reason}"'
    return Unauthorized(
        f"The bearer token is not valid: {reason}.", headers={"WWW-Authenticate": challenge}
    )


def needs_role(operation: str, needed: str, held: str | None) -> Forbidden:
    """The principal's role (`held`; None: no known role) is below `needed`."""
    has = f"the {held} role" if held else "no known role"
    return Forbidden(
        f"Operation {operation} needs the {needed} role; these credentials have {has}."
    )
