"""Errors of an import besides the rejections (`simengine.assetbase.AssetRejected` and
`PackageTooLarge`, which the URDF pre-checks raise too)."""

from __future__ import annotations

from simengine.errors import SimError


class ImportStopped(SimError):  # noqa: N818 - it is not a failure, the caller asked for it
    """`should_stop()` returned True between two stages; nothing usable was produced.

    Cancelling is not a failure, so there is no failure code: the caller knows it asked.
    """

    failure_code = None

    def __init__(self, stage: str) -> None:
        super().__init__(f"the import was stopped before {stage}")
        self.stage = stage
