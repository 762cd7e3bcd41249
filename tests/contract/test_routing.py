"""Overlapping paths route unambiguously: each URL reaches one operation, ids never look like
literal segments, and a literal in an id position never reaches a handler."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import BaseRoute, Match

from generated.registry import HandlerRegistry
from handlers.errors import NotImplementedOperation
from tests.contract.documents import (
    SCHEMA_SUFFIX,
    Document,
    build_app,
    contract_ref_name,
    operations,
)

pytestmark = pytest.mark.contract

# (method, URL, the operation it must reach)
CASES = [
    ("GET", "/api/sim/metrics/run_abc", "getSimRunMetrics"),
    ("GET", "/api/sim/run_abc/metrics", "getSimJobMetrics"),
    ("GET", "/api/sim/report/run_abc", "getSimRunReport"),
    ("GET", "/api/sim/run_abc/report", "getSimJobReport"),
    ("GET", "/api/sim/batch/bat_abc", "getBatch"),
    ("GET", "/api/sim/batch/bat_abc/evaluate", "evaluateBatch"),
    ("GET", "/api/sim/run_abc/status", "getSimJobStatus"),
    ("POST", "/api/sim/run_abc/cancel", "cancelSimJob"),
    ("POST", "/api/sim/run", "startSimRun"),
    ("GET", "/api/sim/step?run_id=run_abc&step_index=0", "getSimStep"),
    ("POST", "/api/sim/batch", "createBatch"),
    ("POST", "/api/sim/compare", "compareRuns"),
]
# Literal segments that share a position with an id in some path.
LITERALS = ("metrics", "report", "batch", "step", "run", "compare", "evaluate", "status", "cancel")
PARAM = re.compile(r"^\{(\w+)\}$")
Validators = dict[str, dict[str, Draft202012Validator]]


def _leaf_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    # FastAPI keeps an included router as one route that holds the router's own routes.
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _leaf_routes(nested.routes)
        else:
            yield route


def _full_matches(app: FastAPI, method: str, url: str) -> list[tuple[str, dict[str, str]]]:
    """(operationId, path parameters) of every route matching `url` fully, in dispatch order."""
    scope = {"type": "http", "method": method, "path": url.split("?")[0], "root_path": ""}
    found = []
    for route in _leaf_routes(app.router.routes):
        match, child = route.matches(dict(scope))
        if match == Match.FULL:
            found.append((getattr(route, "operation_id", None) or "", child.get("path_params", {})))
    return found


@pytest.fixture(scope="module")
def path_validators(contract_ops: Document, contract_schemas: Mapping[str, Document]) -> Validators:
    """operationId -> path parameter -> a validator of its contract schema."""
    resources = [
        (uri, Resource.from_contents(schema, default_specification=DRAFT202012))
        for name, schema in contract_schemas.items()
        for uri in (f"{name}{SCHEMA_SUFFIX}", f"schemas/{name}{SCHEMA_SUFFIX}")
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    return {
        operation["operationId"]: {
            parameter["name"]: Draft202012Validator(parameter["schema"], registry=registry)
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "path"
        }
        for operation in operations(contract_ops).values()
    }


def _valid(validators: Validators, operation_id: str, params: Mapping[str, str]) -> bool:
    return all(validators[operation_id][name].is_valid(value) for name, value in params.items())


@pytest.mark.parametrize(("method", "url", "operation_id"), CASES)
def test_url_routes_to_its_operation(
    method: str, url: str, operation_id: str, app: FastAPI, path_validators: Validators
) -> None:
    matches = _full_matches(app, method, url)
    assert matches, f"{method} {url} matches no route"
    assert matches[0][0] == operation_id, matches
    # Whatever the order of the routes, only one match has ids the contract accepts.
    valid = [op for op, params in matches if _valid(path_validators, op, params)]
    assert valid == [operation_id]


def test_no_two_operations_can_match_one_url(
    contract_ops: Document, path_validators: Validators
) -> None:
    """Two templates of one method overlap unless some segment tells them apart: two
    different literals, or a literal that the other's id schema rejects."""

    def segments(path: str) -> list[str]:
        return path.strip("/").split("/")

    def apart(operation_id: str, segment: str, other: str) -> bool:
        param = PARAM.match(segment)
        if param is None:
            return False
        return not path_validators[operation_id][param.group(1)].is_valid(other)

    overlapping = []
    by_key = [(key, op["operationId"]) for key, op in operations(contract_ops).items()]
    for ((method, path), op), ((other_method, other_path), other_op) in itertools.combinations(
        by_key, 2
    ):
        mine, theirs = segments(path), segments(other_path)
        if method != other_method or len(mine) != len(theirs):
            continue
        told_apart = any(
            (not PARAM.match(a) and not PARAM.match(b) and a != b)
            or (not PARAM.match(b) and apart(op, a, b))
            or (not PARAM.match(a) and apart(other_op, b, a))
            for a, b in zip(mine, theirs, strict=True)
        )
        if not told_apart:
            overlapping.append(f"{method} {path} ~ {other_path}")
    assert overlapping == []


def test_no_literal_segment_is_a_valid_id(
    contract_ops: Document, path_validators: Validators
) -> None:
    literals = set(LITERALS) | {
        segment
        for path in contract_ops["paths"]
        for segment in path.strip("/").split("/")
        if not PARAM.match(segment)
    }
    accepted = [
        f"{operation_id}.{name} accepts {literal!r}"
        for operation_id, params in path_validators.items()
        for name, validator in params.items()
        for literal in sorted(literals)
        if validator.is_valid(literal)
    ]
    assert accepted == []


class _NamingHandler:
    """Stands in for every handler: answers 501 naming the operation the route delegated to."""

    def __getattr__(self, method: str) -> Any:
        operation_id = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), method)

        async def answer(**_: Any) -> NoReturn:
            raise NotImplementedOperation(operation_id)

        return answer


@pytest.fixture(scope="module")
def naming_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of the app whose every handler names the operation it was reached as."""
    registry = HandlerRegistry(
        **{field.name: _NamingHandler() for field in fields(HandlerRegistry)}
    )
    runs_dir: Path = tmp_path_factory.mktemp("routing-runs")
    app = build_app(runs_dir, handlers=registry)
    with TestClient(app) as client:
        yield client


def _example(schema: Document, contract_schemas: Mapping[str, Document]) -> Any:
    """The first example of the contract schema that `schema` refers to."""
    return contract_schemas[contract_ref_name(schema["$ref"])]["examples"][0]


def _example_body(
    method: str, path: str, contract_ops: Document, contract_schemas: Mapping[str, Document]
) -> Any:
    body = contract_ops["paths"][path][method.lower()].get("requestBody")
    if body is None:
        return None
    return _example(body["content"]["application/json"]["schema"], contract_schemas)


@pytest.mark.parametrize(("method", "url", "operation_id"), CASES)
def test_request_reaches_its_operation(
    method: str,
    url: str,
    operation_id: str,
    naming_client: TestClient,
    contract_ops: Document,
    contract_schemas: Mapping[str, Document],
) -> None:
    paths = {op["operationId"]: path for (_, path), op in operations(contract_ops).items()}
    path = paths[operation_id]
    body = _example_body(method, path, contract_ops, contract_schemas)
    response = naming_client.request(method, url, json=body)
    assert response.status_code == 501, response.text
    assert f"'{operation_id}'" in response.json()["detail"]


def _literal_urls(
    contract_ops: Document, contract_schemas: Mapping[str, Document]
) -> Iterator[tuple[str, str]]:
    """Every path with one id replaced by a literal segment and the others valid."""
    for (method, path), operation in operations(contract_ops).items():
        examples = {
            parameter["name"]: _example(parameter["schema"], contract_schemas)
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "path"
        }
        for name, literal in itertools.product(examples, LITERALS):
            url = path
            for other, value in {**examples, name: literal}.items():
                url = url.replace(f"{{{other}}}", value)
            yield method, url


def test_literal_in_an_id_position_reaches_no_handler(
    naming_client: TestClient, contract_ops: Document, contract_schemas: Mapping[str, Document]
) -> None:
    answers = {
        f"{method} {url}": naming_client.request(method, url).status_code
        for method, url in _literal_urls(contract_ops, contract_schemas)
    }
    assert len(answers) >= len(LITERALS) * 10
    # 422: the id is refused before any handler runs (a handler here would answer 501).
    assert {request: status for request, status in answers.items() if status != 422} == {}
