"""Offline validation against a contracts folder, relative $refs and formats included."""

from pathlib import Path
from typing import Any

import pytest

from handlers.kit.contracts import ContractLoadError, ContractRegistry, UnknownSchema, Violation
from tests.handlers.contracts_fixture import write_contracts


@pytest.fixture
def registry(tmp_path: Path) -> ContractRegistry:
    return ContractRegistry(write_contracts(tmp_path))


def test_names_are_the_file_stems(registry: ContractRegistry) -> None:
    assert registry.names() == ["Options", "Steps", "Widget"]


def test_schemas_folder_itself_is_accepted(tmp_path: Path) -> None:
    contracts = write_contracts(tmp_path)
    assert ContractRegistry(contracts / "schemas").names() == ["Options", "Steps", "Widget"]


def test_valid_payload_has_no_errors(registry: ContractRegistry) -> None:
    payload = {"name": "w", "options": {"steps": 5, "start": "2026-01-01T00:00:00Z"}}
    assert registry.errors("Widget", payload) == []


def test_errors_point_at_each_failing_field(registry: ContractRegistry) -> None:
    payload: dict[str, Any] = {
        "name": "far-too-long",
        "options": {"steps": 0, "start": "yesterday", "bogus": 1},
        "tags": ["a", 2, "c"],
        "extra": True,
    }
    pointers = [v.pointer for v in registry.errors("Widget", payload)]
    assert pointers == [
        "/extra",
        "/name",
        "/options/bogus",
        "/options/start",
        "/options/steps",
        "/tags",
        "/tags/1",
    ]


def test_missing_properties_are_pointed_at_themselves(registry: ContractRegistry) -> None:
    assert registry.errors("Widget", {}) == [
        Violation("/name", "'name' is a required property"),
        Violation("/options", "'options' is a required property"),
    ]


def test_whole_document_errors_have_the_empty_pointer(registry: ContractRegistry) -> None:
    assert registry.errors("Widget", []) == [Violation("", "[] is not of type 'object'")]


def test_pointer_tokens_are_escaped(registry: ContractRegistry) -> None:
    errors = registry.errors("Options", {"a/b~c": 1})
    assert [v.pointer for v in errors] == ["/a~1b~0c"]


@pytest.mark.parametrize("target", ["Widget", "Widget.schema.json"])
def test_schema_by_name(registry: ContractRegistry, target: str) -> None:
    assert registry.errors(target, {"name": "w", "options": {}}) == []


def test_schema_by_path_resolves_its_neighbours(registry: ContractRegistry, tmp_path: Path) -> None:
    path = registry.schemas_dir / "Widget.schema.json"
    assert registry.errors(path, {"name": "w", "options": {"steps": 0}}) == [
        Violation("/options/steps", "0 is less than the minimum of 1")
    ]
    other = ContractRegistry(tmp_path / "elsewhere")  # an empty folder
    assert other.errors(str(path), {"name": "w", "options": {}}) == []


def test_unknown_schema_lists_the_valid_names(registry: ContractRegistry) -> None:
    with pytest.raises(UnknownSchema) as caught:
        registry.validator("Gadget")
    assert caught.value.known == ["Options", "Steps", "Widget"]
    assert "Options, Steps, Widget" in caught.value.detail


def test_broken_contract_file_is_reported(tmp_path: Path) -> None:
    folder = write_contracts(tmp_path) / "schemas"
    (folder / "Broken.schema.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ContractLoadError, match=r"Broken\.schema\.json"):
        ContractRegistry(folder)


def test_dangling_reference_is_a_contract_error(tmp_path: Path) -> None:
    folder = write_contracts(tmp_path) / "schemas"
    (folder / "Dangling.schema.json").write_text(
        '{"$id": "Dangling.schema.json", "$ref": "Missing.schema.json"}', encoding="utf-8"
    )
    with pytest.raises(ContractLoadError, match=r"Missing\.schema\.json"):
        ContractRegistry(folder).errors("Dangling", {})


def test_the_repository_contracts_validate_their_own_examples() -> None:
    registry = ContractRegistry()
    if not registry.names():
        pytest.skip("contracts/schemas is empty")
    for name in registry.names():
        schema = registry.validator(name).schema
        for example in schema.get("examples", []):
            assert registry.errors(name, example) == [], (name, example)
