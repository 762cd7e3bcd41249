"""The versions a recording was produced with (EngineInfo shape); no pybullet import."""

from __future__ import annotations

import platform
from functools import cache
from importlib import metadata

from simengine.types import JSONDict


@cache
def engine_info() -> JSONDict:
    """Versions of the engine and its stack; cached (metadata lookups cost ~60 ms).

    Callers must copy before changing it.
    """
    return {
        "engine": "pybullet",
        "engine_version": _version("pybullet"),
        "qers_version": _version("qers"),
        "python_version": platform.python_version(),
        "numpy_version": _version("numpy"),
    }


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0.0.0"
