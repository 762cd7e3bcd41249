"""OWASP API5:2023 Broken Function Level Authorisation, tried for real.

Every operation of the contract is called with a key of the role just below the one
`handlers.auth.roles.MINIMUM_ROLE` names for it (403) and with a key of exactly that role
(anything but 401/403: the request reaches the operation, whose own checks then answer).
A viewer is refused every operation that is not a read, a runner the project management;
path and method tricks (trailing slashes, dot segments, method-override headers) never
slip a refused operation past the gate. tests/handlers/auth/test_roles.py keeps the table
equal to the contract and to docs/security.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.auth.roles import MINIMUM_ROLE, Role
from handlers.auth.store import KeyStore
from handlers.settings import Settings
from tests.security.test_api1_object_level_authorisation import _contract

RUN = {"scenario": "drop_test", "options": {"steps": 10}}
UNKNOWN_ID = "x0123456789abcdef"  # fills every path parameter: no object is ever found


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # parameters filled


def _calls() -> dict[str, Call]:
    calls = {}
    for template, item in _contract()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                path = re.sub(r"\{[a-z_]+\}", UNKNOWN_ID, template)
                calls[operation["operationId"]] = Call(method.upper(), path)
    return calls


CALLS = _calls()
BELOW = {Role.RUNNER: Role.VIEWER, Role.ADMIN: Role.RUNNER}


@dataclass(frozen=True)
class Site:
    client: TestClient
    keys: dict[Role, dict[str, str]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    runs_dir: Path = tmp_path_factory.mktemp("api5")
    store = KeyStore(runs_dir)
    keys = {role: {"X-API-Key": store.create(role=role)[0].key} for role in Role}
    settings = Settings(runs_dir=runs_dir, warm_spares=0, auth=("api_key",))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Site(client, keys)


def _call(site: Site, name: str, headers: dict[str, str]) -> Any:
    call = CALLS[name]
    body: dict[str, Any] | None = {} if call.method in ("POST", "PATCH") else None  # invalid
    return site.client.request(call.method, call.path, json=body, headers=headers)


def _runs(site: Site) -> int:
    answer = site.client.get("/v1/runs?limit=1000", headers=site.keys[Role.VIEWER])
    return len(answer.json()["items"])


def test_every_operation_has_a_role_in_the_table() -> None:
    assert set(CALLS) <= set(MINIMUM_ROLE)


@pytest.mark.parametrize("name", sorted(name for name in CALLS if MINIMUM_ROLE[name] is not None))
def test_the_role_below_the_minimum_is_refused(site: Site, name: str) -> None:
    needed = MINIMUM_ROLE[name]
    assert needed is not None
    if needed is Role.VIEWER:
        answer = _call(site, name, {})
        assert answer.status_code == 401, answer.text
        return
    answer = _call(site, name, site.keys[BELOW[needed]])
    assert answer.status_code == 403, answer.text
    assert answer.json()["type"] == "urn:qers:problem:forbidden"
    assert name in answer.json()["detail"]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_minimum_role_reaches_the_operation(site: Site, name: str) -> None:
    needed = MINIMUM_ROLE[name]
    answer = _call(site, name, site.keys[needed] if needed is not None else {})
    assert answer.status_code not in (401, 403), answer.text


@pytest.mark.parametrize(
    "name", sorted(name for name, call in CALLS.items() if call.method != "GET")
)
def test_a_viewer_changes_nothing(site: Site, name: str) -> None:
    before = _runs(site)
    answer = _call(site, name, site.keys[Role.VIEWER])
    assert answer.status_code == 403, answer.text
    assert _runs(site) == before


@pytest.mark.parametrize("name", ["createProject", "updateProject"])
def test_a_runner_cannot_manage_projects(site: Site, name: str) -> None:
    answer = _call(site, name, site.keys[Role.RUNNER])
    assert answer.status_code == 403, answer.text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/runs?role=admin", {}),
        ("/v1/./runs", {}),
        ("/v1/runs/../runs", {}),
        ("/v1/runs#fragment", {}),
        ("/v1/runs", {"X-HTTP-Method-Override": "GET"}),
        ("/v1/runs", {"X-Role": "admin", "X-Forwarded-User": "admin"}),
        ("/v1/runs/", {}),
        ("/v1//runs", {}),
        ("/V1/runs", {}),
        ("/v1/runs;role=admin", {}),
    ],
)
def test_path_and_method_tricks_do_not_pass_the_gate(
    site: Site, path: str, headers: dict[str, str]
) -> None:
    before = _runs(site)
    viewer = {**site.keys[Role.VIEWER], **headers}
    answer = site.client.post(path, json=RUN, headers=viewer, follow_redirects=False)
    # 403 from the gate, 404 for no route, or a redirect to the gated path: never a run.
    assert answer.status_code in (403, 404, 307), answer.text
    if answer.status_code == 307:
        assert answer.headers["location"].endswith("/v1/runs")
    assert _runs(site) == before
