"""The USD stage of an import: `simengine.imports.usd` (pxr) turns a stage into a URDF.

That module is imported only here, when a USD upload arrives: it loads pxr, and the rest
of the import (and its tests) runs without it.
"""

from __future__ import annotations

import importlib
from pathlib import Path, PurePosixPath
from typing import Protocol

from simengine.assetbase import AssetRejected
from simengine.errors import SimError
from simengine.imports.limits import ImportLimits

CONVERTER_MODULE = "simengine.imports.usd"


class Converted(Protocol):
    """What `convert_usd` returns."""

    @property
    def urdf_file(self) -> Path:
        """The URDF written, inside `out_dir`."""
        ...

    @property
    def warnings(self) -> list[str]:
        """What the conversion noticed and accepted."""
        ...


class ConvertUsd(Protocol):
    """The signature of `simengine.imports.usd.convert_usd`."""

    def __call__(
        self,
        stage_path: Path,
        package_root: Path,
        out_dir: Path,
        *,
        robot_name: str,
        limits: ImportLimits,
    ) -> Converted: ...


def convert(
    stage: Path, *, package_root: Path, out_dir: Path, robot_name: str, limits: ImportLimits
) -> tuple[PurePosixPath, list[str]]:
    """Convert the USD `stage` (inside `package_root`) to a URDF in the empty `out_dir`.

    Returns:
        The URDF's path relative to `out_dir`, and the converter's warnings.

    Raises:
        AssetRejected: the converter refused the stage, or wrote no URDF inside `out_dir`.
        SimError: this server has no USD converter.
    """
    try:
        module = importlib.import_module(CONVERTER_MODULE)
    except ImportError:
        raise SimError("USD import is not available on this server") from None
    convert_usd: ConvertUsd = module.convert_usd
    converted = convert_usd(stage, package_root, out_dir, robot_name=robot_name, limits=limits)
    urdf = Path(converted.urdf_file)
    folder = out_dir.resolve()
    if not urdf.is_file() or not urdf.resolve().is_relative_to(folder):
        raise AssetRejected("usd", "the stage could not be converted to a URDF")
    return PurePosixPath(urdf.resolve().relative_to(folder).as_posix()), list(converted.warnings)
