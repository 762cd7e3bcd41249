"""Run ids: random, strictly patterned (contracts/schemas/RunId.schema.json).

Ids become folder names under RUNS_DIR, so every path built from one is checked here
first (see `handlers.kit.ids`).
"""

from handlers.kit.ids import id_pattern, matches, new_id

RUN_ID_PREFIX = "run_"
RUN_ID_PATTERN = id_pattern(RUN_ID_PREFIX)


def new_run_id() -> str:
    """A fresh random run id: `run_` followed by 24 lowercase hex digits."""
    return new_id(RUN_ID_PREFIX)


def is_valid_run_id(value: object) -> bool:
    """Whether `value` is a string matching the contract's RunId pattern."""
    return matches(RUN_ID_PATTERN, value)
