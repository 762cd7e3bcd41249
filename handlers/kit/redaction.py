"""Secrets never reach a log line: mask sensitive keys and credentials inside text."""

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from structlog.typing import EventDict, WrappedLogger

MASK = "[REDACTED]"
SENSITIVE_KEY_PARTS = (
    "authorization",
    "api_key",
    "apikey",
    "secret",
    "password",
    "passwd",
    "token",
    "cookie",
)
_KEYWORDS = r"(?:secret|passw(?:or)?d|token|api[_-]?key|authorization|cookie)"
# Matched against lower-cased text: much faster than an (?i) alternation.
_SUSPECT = re.compile(r"secret|passw|token|api.?key|authoriz|cookie|bearer|basic|whsec_|qers_|@")
_SCRUBBERS = (
    # 'webhook_secret': 'abc'  /  "password": "abc"  /  'authorization': 'Bearer abc'
    (
        re.compile(rf"(?i)({_KEYWORDS}[\w-]*[\"']?\s*[:=]\s*)([\"'])(?:(?!\2).)*\2"),
        rf"\1\2{MASK}\2",
    ),
    # Authorization: <scheme> <credentials>  (the whole value, whatever the scheme)
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(?![\"'])[^\r\n\"'},;]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;\"']+"), rf"\1 {MASK}"),
    # token=abc  /  X-API-Key: abc
    (re.compile(rf"(?i)({_KEYWORDS}[\w-]*\s*[:=]\s*)(?![\"'])[^\s&,;\"'}}]+"), rf"\1{MASK}"),
    # scheme://user:password@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@"), rf"\1{MASK}@"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), MASK),  # Standard Webhooks signing secrets
    # QERS API keys (handlers/auth/keys.py): qers_<16 hex key id>_<secret>
    (re.compile(r"qers_[0-9a-f]{16}_[A-Za-z0-9_-]+"), MASK),
)
_PLAIN = (int, float, type(None))


@lru_cache(maxsize=4096)
def is_sensitive_key(key: str) -> bool:
    """True if a value under `key` must never be logged (case-insensitive, `-` or `_`)."""
    normalized = key.lower().replace("-", "_")
    return any(part in normalized for part in SENSITIVE_KEY_PARTS)


def scrub_text(text: str) -> str:
    """Mask credentials written inside free text (bearer tokens, `secret=...`, URL users)."""
    if not _SUSPECT.search(text.lower()):
        return text
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """`value` with sensitive keys masked at any depth and credentials scrubbed from text."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Mapping):
        return {
            key: MASK if isinstance(key, str) and is_sensitive_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if isinstance(value, BaseModel):
        return redact(value.model_dump(mode="json"))
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor applying `redact` to every key and value of the event."""
    for key, value in event_dict.items():
        if not isinstance(value, _PLAIN):
            event_dict[key] = MASK if is_sensitive_key(key) else redact(value)
        elif is_sensitive_key(key) and value is not None:
            event_dict[key] = MASK
    return event_dict
