"""An engine module that fails on import (the fork server must survive preloading it)."""

from collections.abc import Callable
from typing import Any

raise RuntimeError("engine module bug at /srv/qers/simengine/api.py")


def run_spec(
    spec: dict[str, Any], *, progress: Callable[[int, int], None], should_stop: Callable[[], bool]
) -> None:
    """Never reached."""
