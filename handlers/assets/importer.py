"""The import child: the upload is sniffed, unpacked, converted, checked, measured and tried
in PyBullet by `simengine.api.import_asset` in an isolated child, never in this process
(USD's and the mesh libraries' C++ can crash or hang on hostile input, as pybullet does).

How it ended becomes an answer here: the child's refusal is a 422 naming the entry and the
rule, a limit a 413, a crash or a hang a 422 saying the file could not be read safely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from generated.models.FailureCode_schema import FailureCode
from generated.models.RunStatus_schema import RunStatus
from handlers.errors import AssetRefused, InternalError, PayloadTooLarge
from handlers.isolation.executor import Executor, ExecutorConfig
from handlers.isolation.outcome import ExecutionResult
from handlers.kit.slots import ChildSlots
from handlers.settings import Settings
from simengine import api as engine_api

_log = structlog.get_logger("qers.assets")
CHECK_STEPS = 240
PREVIEW_SIZE = (320, 240)


@dataclass(frozen=True)
class ImportRequest:
    """What the child needs besides the upload: the client's hints."""

    filename: str | None
    format: str | None
    main_file: str | None
    density_kg_m3: float
    name: str


class Importer:
    """Runs imports and preview renders in isolated children."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        memory = settings.import_memory_bytes
        self._imports = Executor(
            ExecutorConfig(target=engine_api.import_asset, memory_limit_bytes=memory)
        )
        self._previews = Executor(
            ExecutorConfig(target=engine_api.render_preview, memory_limit_bytes=memory)
        )
        # Import and preview children at once in this process (each may take
        # `import_memory_bytes`); a request waits `import_wait_s` for a slot, then gets 503.
        self._slots = ChildSlots(
            settings.import_concurrency, wait_s=settings.import_wait_s, what="import"
        )

    def limits(self) -> dict[str, Any]:
        """The import limits of this server, as the child reads them."""
        s = self._settings
        return {
            "max_unpacked_bytes": s.import_max_unpacked_bytes,
            "max_entries": s.import_max_entries,
            "max_entry_bytes": s.import_max_entry_bytes,
            "max_compression_ratio": s.import_max_compression_ratio,
            "max_triangles": s.import_max_triangles,
            "max_links": s.import_max_links,
        }

    async def run(
        self,
        request: ImportRequest,
        *,
        source: Path,
        work: Path,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """The child's report on `source`, whose canonical files it wrote into `work`;
        `on_progress` receives (stages_done, stages_total) as the child reports them.

        Raises:
            AssetRefused: the file was refused, crashed the parser or took too long.
            PayloadTooLarge: it exceeds a limit.
        """
        job = {
            "source": str(source),
            "filename": request.filename,
            "work_dir": str(work),
            "format": request.format,
            "main_file": request.main_file,
            "density_kg_m3": request.density_kg_m3,
            "name": request.name,
            "limits": self.limits(),
            "check_steps": CHECK_STEPS,
        }
        timeout = self._settings.import_timeout_s
        async with self._slots.slot():
            result = await self._imports.execute_async(
                job, max_duration_s=timeout, on_progress=on_progress
            )
        return _output(result, timeout_s=timeout)

    async def render(self, urdf: Path, out: Path) -> None:
        """Draw `urdf` into the PNG file `out`."""
        width, height = PREVIEW_SIZE
        job = {"urdf": str(urdf), "out": str(out), "width": width, "height": height}
        timeout = self._settings.import_timeout_s
        async with self._slots.slot():
            result = await self._previews.execute_async(job, max_duration_s=timeout)
        if result.status != RunStatus.SUCCEEDED:
            # The asset passed its import: a render that fails is this server's problem.
            _log.error(
                "preview render failed",
                failure_code=result.failure_code,
                reason=result.failure_reason,
            )
            raise InternalError.unexpected()


def _output(result: ExecutionResult, *, timeout_s: float) -> dict[str, Any]:
    if result.status == RunStatus.SUCCEEDED and isinstance(result.output, dict):
        return result.output
    code, reason = result.failure_code, result.failure_reason or "no reason given"
    if code == FailureCode.INVALID_ASSET:
        raise AssetRefused(reason)
    if code == FailureCode.RESOURCE_LIMIT:
        raise PayloadTooLarge(f"The asset exceeds a limit of this server: {reason}")
    if code == FailureCode.TIMEOUT:
        raise AssetRefused(f"the import did not finish within {timeout_s:g} s")
    if code == FailureCode.ENGINE_CRASH:
        raise AssetRefused(f"the file could not be read safely (the parser crashed: {reason})")
    _log.error("import child failed", failure_code=code, reason=reason)
    raise InternalError.unexpected()
