from __future__ import annotations

import json

import pytest

from simengine import errors
from tests.simengine.schemas import SCHEMAS


def test_failure_codes_are_in_the_contract_enum() -> None:
    enum = json.loads((SCHEMAS / "FailureCode.schema.json").read_text())["enum"]
    for cls in (errors.SimError, errors.Diverged, errors.InvalidAsset):
        assert cls.failure_code in enum
    assert errors.InvalidConfig.failure_code is None


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (errors.UnknownScenario("x", ["b", "a"]), "valid: a, b"),
        (errors.UnknownProfile("x", ["default"]), "valid: default"),
        (errors.InvalidConfig("steps", "must be in 1..1000000"), "steps: must be in 1..1000000"),
        (errors.Diverged("NaN", step=3), "step 3: NaN"),
    ],
)
def test_reasons_are_human(error: errors.SimError, text: str) -> None:
    assert text in error.reason
    assert str(error) == error.reason
