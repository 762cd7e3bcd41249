"""OWASP API9:2023 Improper Inventory Management, tried for real.

Nothing answers that is not on the inventory: every route the app serves is an operation of
`/openapi.json` or one of the known read-only pages (docs, dashboard, static files); the
published operations are those of contracts/openapi.yaml, each listed in docs/status.md
(tests/test_status.py checks the table row by row); no method an operation does not document
answers on its path (405 with the documented `Allow`), and no old or hidden version or
admin path exists. Versions are told consistently: `info.version` is the contract's (the API
version, whose major is the `/v1/` prefix), the health operations report the installed
package's (the server version), and deprecation is marked the same in the contract, the
published document and docs/status.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount, Route

from handlers.app import create_app
from handlers.kit.paths import ROOT
from handlers.settings import Settings, package_version
from tests.test_status import _rows

# Served outside the contract: read-only pages and files, each a GET.
PAGES = re.compile(
    r"^/(openapi\.json|docs|docs/oauth2-redirect|redoc|favicon\.ico|dashboard(/.*)?|static/.+)$"
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "HEAD")


def _yaml_contract() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(
        (ROOT / "contracts" / "openapi.yaml").read_text(encoding="utf-8")
    )
    return document


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, bool]]:
    """operationId -> (METHOD, path, deprecated)."""
    return {
        op["operationId"]: (method.upper(), path, bool(op.get("deprecated")))
        for path, item in document["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(runs_dir=tmp_path_factory.mktemp("api9"), warm_spares=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def published(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def _served(routes: list[BaseRoute]) -> Iterator[tuple[str, frozenset[str], bool]]:
    """(path, methods, published) of every route, included routers and mounts too."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _served(included.routes)
        elif isinstance(route, Route):  # APIRoute too
            yield route.path, frozenset(route.methods or ()), route.include_in_schema
        elif isinstance(route, Mount):
            yield route.path + "/{path}", frozenset({"GET", "HEAD"}), False
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")


def test_every_served_route_is_published_or_a_known_page(
    client: TestClient, published: dict[str, Any]
) -> None:
    operations = {(method, path) for method, path, _ in _operations(published).values()}
    routes = list(_served(client.app.router.routes))  # type: ignore[attr-defined]
    assert len(routes) > len(operations)
    for path, methods, in_schema in routes:
        if in_schema:
            assert {(method, path) for method in methods} <= operations, path
        else:
            assert PAGES.match(path), f"{path} is served but on no inventory"
            assert methods <= {"GET", "HEAD"}, f"{path} answers {sorted(methods)}"


def test_the_published_operations_are_the_contracts(published: dict[str, Any]) -> None:
    assert _operations(published) == _operations(_yaml_contract())
    assert set(_rows()) == set(_operations(published))  # and docs/status.md lists each


def test_versions_are_told_consistently(client: TestClient, published: dict[str, Any]) -> None:
    api_version = _yaml_contract()["info"]["version"]
    assert published["info"]["version"] == api_version
    major = api_version.split(".")[0]
    versioned = {path.split("/")[1] for path in published["paths"] if path.startswith("/v")}
    assert versioned == {f"v{major}"}
    server_versions = {client.get(path).json()["version"] for path in ("/v1/health", "/api/health")}
    assert server_versions == {package_version()}


def test_deprecation_is_marked_everywhere_alike(published: dict[str, Any]) -> None:
    served = {name for name, (*_, old) in _operations(published).items() if old}
    assert served == {name for name, (*_, old) in _operations(_yaml_contract()).items() if old}
    listed = {name for name, row in _rows().items() if "deprecated" in row[3].lower()}
    assert listed == served


def _valid_id(schema: dict[str, Any]) -> str:
    """An id the parameter's pattern (`^run_[a-z0-9_]{1,60}$`, ...) accepts."""
    prefix = re.match(r"\^([a-z]+_)", schema["pattern"])
    assert prefix is not None, schema
    return prefix.group(1) + "0123456789abcdef"


def _paths(published: dict[str, Any]) -> dict[str, set[str]]:
    """Every published path, parameters filled with valid ids, and its documented methods."""
    paths: dict[str, set[str]] = {}
    for template, item in published["paths"].items():
        path = template
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    value = _valid_id(parameter["schema"])
                    path = path.replace("{" + parameter["name"] + "}", value)
        assert "{" not in path, template
        paths[path] = {method.upper() for method in item}
    return paths


def test_no_undocumented_method_answers(client: TestClient, published: dict[str, Any]) -> None:
    for path, documented in _paths(published).items():
        for method in METHODS:
            if method in documented:
                continue
            answer = client.request(method, path)
            assert answer.status_code == 405, (method, path, answer.status_code)
            assert set(answer.headers["allow"].replace(" ", "").split(",")) == documented
            if method != "HEAD":
                assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/v0/runs",
        "/v2/runs",
        "/api/v1/runs",
        "/api/v2/runs",
        "/v1/admin",
        "/api/admin",
        "/api/internal",
        "/api/debug",
        "/metrics",
        "/actuator/health",
        "/server-status",
        "/.env",
        "/.git/config",
        "/v1/keys",
        "/api/keys",
        "/static/../handlers/settings.py",
        "/static/dashboard/../../../handlers/settings.py",
    ],
)
def test_no_hidden_or_old_version_answers(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404, (path, answer.text[:200])
    assert "Settings" not in answer.text
