"""Every name in handlers.kit.names resolves to what it claims to be."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

import pytest

from handlers.kit import names
from handlers.worker import jobs


def _resolve(dotted: str) -> Callable[..., Any]:
    """What RQ does with a job's function name: import the module, take the attribute."""
    module, _, attribute = dotted.rpartition(".")
    found = getattr(importlib.import_module(module), attribute)
    assert callable(found), dotted
    return found  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "function"),
    [(names.RUN_JOB, jobs.execute_run), (names.WEBHOOK_JOB, jobs.deliver_webhook)],
)
def test_rq_job_names_resolve_to_the_job_functions(name: str, function: Callable[..., Any]) -> None:
    assert _resolve(name) is function


@pytest.mark.parametrize(("old", "new"), sorted(names.LEGACY_JOBS.items()))
def test_jobs_queued_under_the_old_names_still_run(old: str, new: str) -> None:
    assert _resolve(old) is _resolve(new)


@pytest.mark.parametrize("module", [*names.FORK_SERVER_PRELOAD, names.FORK_SERVER_ENTRY])
def test_fork_server_modules_exist(module: str) -> None:
    # find_spec locates a module without importing it (pybullet must not load here).
    assert importlib.util.find_spec(module) is not None, module
