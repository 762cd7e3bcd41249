"""Schemathesis in-process: every operation with every check, then stateful runs along links.

Operations that are not built yet answer 501; that is documented (`default`) and allowed by
`schemathesis.toml`, so they conform. Anything else the server does that its document does not
say is a failure here.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS

from tests.contract.documents import (
    SCHEMATHESIS_CONFIG,
    Document,
    build_fuzzed_app,
    empty_server,
    operations,
)

pytestmark = pytest.mark.contract

# Small on purpose: `make test` stays fast; `make fuzz` goes deeper against a live server.
settings.register_profile(
    "qers-contract",
    max_examples=30,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
CONTRACT_SETTINGS = settings.get_profile("qers-contract")

# Loaded at import: schemathesis turns every operation into its own test item.
_RUNS_DIR = tempfile.TemporaryDirectory(prefix="qers-contract-runs-")
APP = build_fuzzed_app(Path(_RUNS_DIR.name))
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", APP, config=schemathesis.Config.from_path(SCHEMATHESIS_CONFIG)
)


@pytest.fixture(scope="module", autouse=True)
def _remove_runs_dir() -> Iterator[None]:
    yield
    _RUNS_DIR.cleanup()


def test_every_check_is_enabled() -> None:
    config = schema.config.checks_config_for()
    disabled = [
        name for name in CHECKS.get_all_names() if not config.get_by_name(name=name).enabled
    ]
    assert disabled == []


@schema.parametrize()
@CONTRACT_SETTINGS
def test_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()


_SCENARIOS = itertools.count()


class APIWorkflow(schema.as_state_machine()):
    """The stateful phase; every scenario starts on an empty server."""

    def setup(self) -> None:
        # Hypothesis runs a scenario's steps again (to explore around it, to shrink) and
        # needs them to behave as before. State an earlier scenario left would change what
        # a step answers, and so which links follow: a project name already taken (409,
        # not 201), a listing no longer empty (its first item's id feeds inferred links).
        empty_server(APP, Path(_RUNS_DIR.name) / f"scenario-{next(_SCENARIOS)}")


TestStatefulWorkflow = APIWorkflow.TestCase
TestStatefulWorkflow.settings = settings(CONTRACT_SETTINGS, max_examples=40)


def test_stateful_phase_follows_every_published_link(published: Document) -> None:
    label = {
        op["operationId"]: f"{method} {path}"
        for (method, path), op in operations(published).items()
    }
    declared = {
        (label[op["operationId"]], status, name, label[link["operationId"]])
        for op in operations(published).values()
        for status, response in op["responses"].items()
        for name, link in response.get("links", {}).items()
    }
    followed = {
        (link.source.label, link.status_code, link.name, link.target.label)
        for transitions in APIWorkflow._transitions.operations.values()
        for link in transitions.outgoing
        if not link.is_inferred
    }
    assert declared, "no links published"
    assert declared - followed == set()
