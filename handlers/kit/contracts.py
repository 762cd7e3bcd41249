"""Offline validation of payloads against `contracts/schemas` (JSON Schema 2020-12)."""

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from handlers.errors import InternalError, NotFoundError
from handlers.kit.jsonpointer import to_pointer
from handlers.kit.paths import CONTRACTS_DIR

DEFAULT_CONTRACTS_DIR = CONTRACTS_DIR
SCHEMA_SUFFIX = ".schema.json"


class UnknownSchema(NotFoundError):  # noqa: N818 - named like handlers.errors (no suffix)
    """A schema name or file that is not among the contracts."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "(none)"
        super().__init__(f"Unknown schema '{name}'; valid names: {listed}")
        self.name = name
        self.known = list(known)


class ContractLoadError(InternalError):
    """A contract file cannot be read or is not a JSON Schema document."""

    @classmethod
    def bad_file(cls, file_name: str, reason: str) -> "ContractLoadError":
        """`file_name` could not be loaded."""
        return cls(f"Cannot load contract {file_name}: {reason}")


class Violation(NamedTuple):
    """One validation error: where (JSON pointer into the payload) and why."""

    pointer: str
    message: str


class ContractRegistry:
    """Every `<Name>.schema.json` of a folder, resolvable by its `$id`."""

    def __init__(self, contracts_dir: Path | None = None) -> None:
        folder = contracts_dir or DEFAULT_CONTRACTS_DIR
        self._load(folder / "schemas" if (folder / "schemas").is_dir() else folder)

    @classmethod
    def _of_folder(cls, schemas_dir: Path) -> "ContractRegistry":
        registry = cls.__new__(cls)
        registry._load(schemas_dir)
        return registry

    def _load(self, schemas_dir: Path) -> None:
        self.schemas_dir = schemas_dir
        self._ids: dict[str, str] = {}  # name -> $id
        self._registry: Registry[Any] = Registry()
        self._validators: dict[str, Draft202012Validator] = {}
        for path in sorted(schemas_dir.glob("*" + SCHEMA_SUFFIX)):
            self._add(path)

    def names(self) -> list[str]:
        """The schema names (`Run` for `Run.schema.json`), sorted."""
        return sorted(self._ids)

    def validator(self, target: str | Path) -> Draft202012Validator:
        """A format-checking 2020-12 validator for a schema name or a schema file path."""
        if _looks_like_path(target):
            return self._for_file(Path(target))
        name = str(target).removesuffix(SCHEMA_SUFFIX)
        schema_id = self._ids.get(name)
        if schema_id is None:
            raise UnknownSchema(str(target), self.names())
        if schema_id not in self._validators:
            schema = self._registry.contents(schema_id)
            self._validators[schema_id] = Draft202012Validator(
                schema,
                registry=self._registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
        return self._validators[schema_id]

    def errors(self, target: str | Path, instance: Any) -> list[Violation]:
        """Every violation of `instance`, pointed at the failing field, sorted by pointer."""
        validator = self.validator(target)
        try:
            found = {v for error in validator.iter_errors(instance) for v in _explain(error)}
        except Unresolvable as exc:
            raise ContractLoadError(f"Cannot resolve reference {exc.ref!r}") from exc
        return sorted(found)

    def _add(self, path: Path) -> str:
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ContractLoadError.bad_file(path.name, str(exc)) from exc
        if not isinstance(schema, dict):
            raise ContractLoadError.bad_file(path.name, "not a JSON object")
        schema_id = schema.get("$id", path.name)
        if not isinstance(schema_id, str) or schema_id in self._ids.values():
            raise ContractLoadError.bad_file(path.name, f"missing or duplicate $id {schema_id!r}")
        resource = DRAFT202012.create_resource(schema)
        self._registry = self._registry.with_resource(schema_id, resource)
        name = path.name.removesuffix(SCHEMA_SUFFIX).removesuffix(".json")
        self._ids[name] = schema_id
        return name

    def _for_file(self, path: Path) -> Draft202012Validator:
        if not path.is_file():
            raise UnknownSchema(str(path), self.names())
        if path.resolve().parent == self.schemas_dir.resolve() and path.name.endswith(
            SCHEMA_SUFFIX
        ):
            return self.validator(path.name)
        # A schema outside our folder: resolve its references among its neighbours.
        neighbours = ContractRegistry._of_folder(path.parent)
        if not path.name.endswith(SCHEMA_SUFFIX):
            return neighbours.validator(neighbours._add(path))
        return neighbours.validator(path.name)


def _looks_like_path(target: str | Path) -> bool:
    if isinstance(target, Path):
        return True
    return (
        "/" in target or os.sep in target or (target.endswith(".json") and Path(target).is_file())
    )


def _explain(error: ValidationError) -> Iterator[Violation]:
    # Point `required` and `additionalProperties` at the property itself, as the server
    # does, rather than at the object that holds it.
    path = list(error.absolute_path)
    instance = error.instance
    required = error.validator_value
    if error.validator == "required" and isinstance(instance, dict) and isinstance(required, list):
        for name in required:
            if name not in instance:
                yield Violation(to_pointer([*path, name]), f"{name!r} is a required property")
        return
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(instance, dict)
    ):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        for name in instance:
            if name not in declared:
                yield Violation(to_pointer([*path, name]), f"{name!r} is not a permitted property")
        return
    yield Violation(to_pointer(path), error.message)
