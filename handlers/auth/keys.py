"""API keys: `qers_<key id>_<secret>`, stored as the SHA-256 of the secret.

The secret is 32 random bytes, so a plain SHA-256 is enough (no password hashing: nothing
to guess); the key id in the key finds the stored hash without scanning.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

KEY_PREFIX = "qers"
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{16}")
# The whole key, for parsing and for redaction (handlers/kit/redaction.py has the same shape).
KEY_PATTERN = re.compile(r"qers_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_SECRET_BYTES = 32  # token_urlsafe(32): 43 characters
_DURATION = re.compile(r"(\d{1,6})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: the whole key (shown once), its id, and what is stored."""

    key: str
    key_id: str
    secret_hash: str


def new_key() -> NewKey:
    """A new random key."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(f"{KEY_PREFIX}_{key_id}_{secret}", key_id, hash_secret(secret))


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = KEY_PATTERN.fullmatch(key.strip())
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> str:
    """What is stored for `secret`: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `45m`, `2w`, `90s` as a timedelta; ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"not a duration: {text!r} (e.g. 30d, 12h, 45m, 2w)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
