"""Validate simengine outputs against the contract schemas (tests may read contracts/)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"


@cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def errors(name: str, instance: Any) -> list[str]:
    """Validation errors of `instance` against contract schema `name` (empty: valid)."""
    schema = _registry().contents(f"{name}.schema.json")
    validator = Draft202012Validator(schema, registry=_registry())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
