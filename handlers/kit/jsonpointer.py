"""RFC 6901 JSON pointers, built the same way by the server and by `qers validate`."""

from collections.abc import Iterable


def escape(token: str | int) -> str:
    """One reference token: `~` becomes `~0`, `/` becomes `~1`."""
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(tokens: Iterable[str | int]) -> str:
    """A JSON pointer from path tokens; no tokens gives "" (the whole document)."""
    return "".join("/" + escape(token) for token in tokens)
