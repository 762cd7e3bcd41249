"""Resource ids: a kind's prefix and 24 random lowercase hex digits, strictly patterned.

Every id schema of the contracts (RunId, BatchId, ProjectId, ...) is `^<prefix>[a-z0-9_]{1,60}$`.
Ids become file names and SQL keys, so every id taken from a request is checked against its
pattern first: the pattern admits no `/`, `.` or upper case, hence no traversal and no
hidden or temporary names.
"""

import re
import secrets

_RANDOM_BYTES = 12  # 24 lowercase hex digits


def new_id(prefix: str) -> str:
    """A fresh random id: `prefix` followed by 24 lowercase hex digits."""
    return prefix + secrets.token_hex(_RANDOM_BYTES)


def id_pattern(prefix: str) -> re.Pattern[str]:
    """The contract's pattern for ids starting with `prefix` (use `fullmatch`)."""
    return re.compile(re.escape(prefix) + r"[a-z0-9_]{1,60}")


def matches(pattern: re.Pattern[str], value: object) -> bool:
    """Whether `value` is a string that `pattern` matches whole."""
    # fullmatch, not `$`: `$` also matches before a trailing newline.
    return isinstance(value, str) and pattern.fullmatch(value) is not None
