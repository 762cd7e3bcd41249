"""The OpenAPI quality rules of issue 2, each checked on the document the app publishes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate as validate_openapi

from tests.contract.documents import (
    COMPONENT_PREFIX,
    Document,
    load_snapshot,
    operations,
    resolved,
)

pytestmark = pytest.mark.contract

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": f"{COMPONENT_PREFIX}Problem"}}}
CREATE_OPERATIONS = ("createRun", "startSimRun", "createBatch", "createProject", "importAsset")
COMPONENT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SDK_GENERATOR = "openapi-python-client"
# No post hooks: they run ruff over the client, which says nothing about the spec.
# Downloads that are not JSON are bytes to an SDK: openapi-python-client reads only
# application/octet-stream as such, and is told that a zip and a PNG are bytes too (the
# same setting docs/contracts.md gives SDK teams).
SDK_CONFIG = {
    "post_hooks": [],
    "content_type_overrides": {
        "application/zip": "application/octet-stream",
        "image/png": "application/octet-stream",
    },
}


def _is_error_status(status: str) -> bool:
    return status == "default" or status[0] in "45"


def _snake_case(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _links(document: Document) -> dict[tuple[str, str], Any]:
    return {
        (operation["operationId"], status): response["links"]
        for operation in operations(document).values()
        for status, response in operation["responses"].items()
        if "links" in response
    }


def test_served_document_is_the_app_document(app: FastAPI, published: Document) -> None:
    assert published == app.openapi()


def _all_operations(document: Document) -> list[Document]:
    return [*operations(document).values(), *operations(document, "webhooks").values()]


def test_operation_ids_are_unique(published: Document) -> None:
    ids = [operation.get("operationId") for operation in _all_operations(published)]
    assert None not in ids
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []


def test_every_operation_has_exactly_one_declared_tag(published: Document) -> None:
    declared = {tag["name"] for tag in published.get("tags", [])}
    wrong = {
        operation["operationId"]: operation.get("tags")
        for operation in _all_operations(published)
        if len(operation.get("tags", [])) != 1 or operation["tags"][0] not in declared
    }
    assert wrong == {}


def test_component_names_are_contract_names(published: Document) -> None:
    names = published["components"]["schemas"]
    framework_made = [
        name
        for name in names
        if name.startswith("Body_")
        or name.endswith(("-Input", "-Output"))
        or "__" in name
        or "." in name
    ]
    assert framework_made == []
    assert [name for name in names if not COMPONENT_NAME.match(name)] == []


def test_every_error_response_is_a_problem(published: Document) -> None:
    wrong = {
        f"{method} {path} {status}": resolved(published, response).get("content")
        for (method, path), operation in operations(published).items()
        for status, response in operation["responses"].items()
        if _is_error_status(status)
        and resolved(published, response).get("content") != PROBLEM_CONTENT
    }
    assert wrong == {}


def _is_json_plus_binary(content: Document) -> bool:
    # A download (e.g. the replay npz) is an alternative media type next to the JSON one,
    # or the only one (an asset's zip package or PNG preview).
    others = [media for name, media in content.items() if name != "application/json"]
    binary = all(media.get("schema", {}).get("type") == "string" for media in others)
    return ("application/json" in content or len(others) == 1) and binary


def test_every_success_response_is_json_or_binary(published: Document) -> None:
    wrong = {
        f"{method} {path} {status}": sorted(response.get("content", {}))
        for (method, path), operation in operations(published).items()
        for status, response in operation["responses"].items()
        if not _is_error_status(status) and not _is_json_plus_binary(response.get("content", {}))
    }
    assert wrong == {}


def test_openapi_spec_validator_accepts_the_document(published: Document) -> None:
    validate_openapi(published)


def test_committed_snapshot_equals_the_live_document(published: Document) -> None:
    assert load_snapshot() == published, "docs/openapi.json is stale: run `make generate`"


def test_deprecation_is_published_as_in_the_contract(
    published: Document, contract_ops: Document
) -> None:
    def deprecated(document: Document) -> dict[str, bool]:
        return {
            operation["operationId"]: bool(operation.get("deprecated", False))
            for operation in operations(document).values()
        }

    assert deprecated(published) == deprecated(contract_ops)


def test_links_are_published_as_in_the_contract(
    published: Document, contract_ops: Document
) -> None:
    assert _links(published) == _links(contract_ops)


@pytest.mark.parametrize("operation_id", CREATE_OPERATIONS)
def test_create_operation_links_to_its_readers(operation_id: str, published: Document) -> None:
    by_id = {op["operationId"]: op for op in operations(published).values()}
    known = set(by_id)
    successes = {
        status: response
        for status, response in by_id[operation_id]["responses"].items()
        if status.startswith("2")
    }
    assert successes
    for status, response in successes.items():
        links = response.get("links", {})
        assert links, f"{operation_id} {status} has no links"
        assert {link["operationId"] for link in links.values()} <= known


@pytest.mark.slow
def test_sdk_generator_accepts_the_document_without_warnings(
    published: Document, tmp_path: Path
) -> None:
    generator = shutil.which(SDK_GENERATOR, path=str(Path(sys.executable).parent))
    assert generator, f"{SDK_GENERATOR} is not installed next to {sys.executable}"
    spec, config, output = tmp_path / "openapi.json", tmp_path / "sdk.json", tmp_path / "client"
    spec.write_text(json.dumps(published), encoding="utf-8")
    config.write_text(json.dumps(SDK_CONFIG), encoding="utf-8")
    command = [generator, "generate", "--path", str(spec), "--output-path", str(output)]
    command += ["--meta", "none", "--config", str(config), "--fail-on-warning"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    assert [line for line in printed.splitlines() if "warning" in line.lower()] == [], printed
    modules = [
        f"{operation['tags'][0]}/{_snake_case(operation['operationId'])}.py"
        for operation in operations(published).values()
    ]
    missing = [module for module in modules if not (output / "api" / module).is_file()]
    assert missing == [], printed
