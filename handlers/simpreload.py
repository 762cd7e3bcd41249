"""Imported by the fork server: loads the engine modules listed in QERS_SIM_PRELOAD.

The standard fork server stops at the first preload that raises anything but
ImportError, and then dies on every start. Here a broken engine module is skipped:
each child imports it again and reports the real error as that run's failure.
"""

import importlib
import os

from handlers.simchild import PRELOAD_ENV


def preload() -> None:
    """Import every module named in the environment variable, ignoring failures."""
    owner, _, names = os.environ.get(PRELOAD_ENV, "").partition(":")
    if owner != str(os.getppid()):
        return  # not the fork server that process started (e.g. the API itself)
    for name in filter(None, names.split(",")):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 (reported by the child that needs the module)
            continue


preload()
