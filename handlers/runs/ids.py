"""Run ids: random, strictly patterned (contracts/schemas/RunId.schema.json).

Ids become folder names under RUNS_DIR, so every path built from one is checked here
first: the pattern admits no `/`, `.` or upper case, hence no traversal and no hidden or
temporary names.
"""

import re
import secrets

RUN_ID_PREFIX = "run_"
RUN_ID_PATTERN = re.compile(r"^run_[a-z0-9_]{1,60}$")
_RANDOM_BYTES = 12  # 24 lowercase hex digits


def new_run_id() -> str:
    """A fresh random run id: `run_` followed by 24 lowercase hex digits."""
    return RUN_ID_PREFIX + secrets.token_hex(_RANDOM_BYTES)


def is_valid_run_id(value: object) -> bool:
    """Whether `value` is a string matching the contract's RunId pattern."""
    # fullmatch, not `$`: `$` also matches before a trailing newline.
    return isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value) is not None
