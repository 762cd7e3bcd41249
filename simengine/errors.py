"""Domain errors of the simulation engine; each carries a contract `FailureCode` or maps to 422."""

from __future__ import annotations

from collections.abc import Iterable

from simengine.types import JSONDict


class SimError(Exception):
    """Base of every simulation error.

    `failure_code` is a value of the contract's `FailureCode` enum (or None for errors the
    API answers with 422 before any run exists); `reason` is safe to show to a person and
    never contains a server path.
    """

    failure_code: str | None = "INTERNAL"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        # What the run produced before the error (run_spec's result shape), if anything.
        self.partial_output: JSONDict | None = None


class InvalidConfig(SimError):  # noqa: N818 - names mirror the failure codes
    """A run spec field is missing, of the wrong type or out of range (answered with 422)."""

    failure_code = None

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class UnknownScenario(InvalidConfig):
    """The scenario name is not registered."""

    def __init__(self, name: str, valid: Iterable[str]) -> None:
        self.name = name
        self.valid = sorted(valid)
        super().__init__("scenario", f"unknown scenario {name!r}; valid: {', '.join(self.valid)}")


class UnknownProfile(InvalidConfig):
    """The reality profile name is not known."""

    def __init__(self, name: str, valid: Iterable[str]) -> None:
        self.name = name
        self.valid = sorted(valid)
        super().__init__("profile", f"unknown profile {name!r}; valid: {', '.join(self.valid)}")


class Diverged(SimError):  # noqa: N818 - names mirror the failure codes
    """The simulation state became NaN/infinite or its energy ran away."""

    failure_code = "DIVERGED"

    def __init__(self, reason: str, *, step: int | None = None) -> None:
        super().__init__(reason if step is None else f"step {step}: {reason}")
        self.step = step


class InvalidAsset(SimError):  # noqa: N818 - names mirror the failure codes
    """The robot description could not be loaded."""

    failure_code = "INVALID_ASSET"
