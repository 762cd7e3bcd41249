"""Segmentations and linkage checks run in isolated children, never in this process: CoACD
aborts the process on some inputs (its own assertions), the mesh libraries' C++ may crash,
and PyBullet steps the built URDF.

How a child ended becomes an answer here: a refusal, a crash or a time-out is a 422 naming
the field of the request to change.
"""

from __future__ import annotations

from typing import Any

import structlog

from generated.models.FailureCode_schema import FailureCode
from generated.models.RunStatus_schema import RunStatus
from handlers.errors import InternalError, ValidationFailed
from handlers.isolation.executor import Executor, ExecutorConfig
from handlers.isolation.outcome import ExecutionResult
from handlers.kit.slots import ChildSlots
from handlers.settings import Settings
from simengine import api as engine_api

_log = structlog.get_logger("qers.design")


class DesignChildren:
    """Runs segmentations and linkage checks in isolated children, a few at a time."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        memory = settings.import_memory_bytes
        self._segment = Executor(
            ExecutorConfig(target=engine_api.segment_asset, memory_limit_bytes=memory)
        )
        self._verify = Executor(
            ExecutorConfig(target=engine_api.verify_linkage, memory_limit_bytes=memory)
        )
        # Children at once in this process; a request waits `import_wait_s`, then gets 503.
        self._slots = ChildSlots(
            settings.import_concurrency, wait_s=settings.import_wait_s, what="design"
        )

    async def segment(self, job: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        """The child's segmentation of the asset `job` names (see
        `simengine.api.segment_asset`).

        Raises:
            ValidationFailed: the method does not apply to the asset (at `/method`), the
                decomposition crashed (`/method`) or ran past `timeout_s`.
        """
        async with self._slots.slot():
            result = await self._segment.execute_async(job, max_duration_s=timeout_s)
        if result.status == RunStatus.SUCCEEDED and isinstance(result.output, dict):
            return result.output
        code, reason = result.failure_code, result.failure_reason or "no reason given"
        if code == FailureCode.INVALID_ASSET:
            raise ValidationFailed.at("/method", reason)
        if code == FailureCode.TIMEOUT:
            pointer = "/decomposition/timeout_s" if job["method"] == "convex_decomposition" else ""
            raise ValidationFailed.at(
                pointer, f"the segmentation did not finish within {timeout_s:g} s"
            )
        if code in (FailureCode.ENGINE_CRASH, FailureCode.RESOURCE_LIMIT):
            raise ValidationFailed.at(
                "/method",
                f"the {job['method']} segmentation of this asset failed in its child process "
                f"({reason}); try another method or other decomposition settings",
            )
        return _unexpected(result)

    async def verify(self, job: dict[str, Any]) -> dict[str, Any]:
        """The check of a built URDF in simulation (see `simengine.api.verify_linkage`);
        a URDF that crashes or hangs PyBullet is reported as not loaded, not raised."""
        async with self._slots.slot():
            result = await self._verify.execute_async(
                job, max_duration_s=self._settings.import_timeout_s
            )
        if result.status == RunStatus.SUCCEEDED and isinstance(result.output, dict):
            return result.output
        if result.failure_code in (
            FailureCode.ENGINE_CRASH,
            FailureCode.TIMEOUT,
            FailureCode.RESOURCE_LIMIT,
            FailureCode.INVALID_ASSET,
        ):
            _log.warning(
                "linkage check failed",
                failure_code=result.failure_code,
                reason=result.failure_reason,
            )
            return {"loaded": False, "steps": 0, "finite": False, "joints": []}
        return _unexpected(result)


def _unexpected(result: ExecutionResult) -> dict[str, Any]:
    _log.error(
        "design child failed", failure_code=result.failure_code, reason=result.failure_reason
    )
    raise InternalError.unexpected()
