"""Contract rules checked before any code is written."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from codegen.contracts import Contracts, JsonObject
from codegen.errors import ContractError
from codegen.integers import integer_format
from codegen.shared_types import DATETIME_MAX_LENGTH

# Keywords that Pydantic cannot enforce or that do not come back out of the published
# OpenAPI the way they went in, so server and contract would disagree.
FORBIDDEN_KEYWORDS = frozenset(
    {
        "if",
        "then",
        "else",
        "patternProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentSchemas",
        "dependentRequired",
        "dependencies",
        "propertyNames",
        "contains",
        "minContains",
        "maxContains",
        "not",
        "oneOf",
        "allOf",
        "uniqueItems",
        "$dynamicRef",
        "$dynamicAnchor",
        "$anchor",
        "$defs",
        "definitions",
        "prefixItems",
    }
)
# Keywords whose value is a schema, or a list or map of schemas.
_SUBSCHEMA = ("items", "additionalProperties")
_SUBSCHEMA_LISTS = ("anyOf",)
_SUBSCHEMA_MAPS = ("properties",)
# A value under `items` or `additionalProperties` carrying one of these becomes a model.
_CONSTRAINTS = frozenset(
    {
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "format",
        "const",
    }
)


# Shorthand classes mean different things in Python's `re`, Rust's `regex` (the server's
# pydantic-core) and JavaScript: spell the characters out instead.
_PORTABLE_PATTERN = re.compile(r"\\[sSdDwWbB]")


def check_contracts(contracts: Contracts) -> None:
    """Raise ContractError for the first rule a contract breaks."""
    for name, schema in contracts.schemas.items():
        where = contracts.files[name]
        for key in ("description", "examples"):
            if key not in schema:
                raise ContractError(f"{where}: missing {key!r}")
        for pointer, parent_key, node in _walk(schema, "", None):
            _check_node(node, parent_key, where=f"{where} at {pointer or '/'}")


def _check_node(node: JsonObject, parent_key: str | None, *, where: str) -> None:
    bad = sorted(FORBIDDEN_KEYWORDS & node.keys())
    if bad:
        raise ContractError(f"{where}: keyword {bad[0]!r} is not supported (see docs/contracts.md)")
    shorthand = _PORTABLE_PATTERN.search(str(node.get("pattern", "")))
    if shorthand:
        raise ContractError(
            f"{where}: pattern uses {shorthand[0]}, which regex engines read differently; "
            "list the characters instead"
        )
    _check_published_keywords(node, where=where)
    if parent_key is None or "$ref" in node:
        return
    # Each of these would make datamodel-codegen invent a model with a made-up name,
    # which then shows up in the published OpenAPI and in every SDK.
    if "properties" in node:
        raise ContractError(f"{where}: an inline object needs its own named schema file")
    if "enum" in node:
        raise ContractError(f"{where}: an enumeration needs its own named schema file")
    if parent_key in ("items", "additionalProperties") and _CONSTRAINTS & node.keys():
        raise ContractError(
            f"{where}: a constrained {parent_key} value needs its own named schema file ($ref it)"
        )


def _check_published_keywords(node: JsonObject, *, where: str) -> None:
    # The models publish these keywords the way codegen/integers.py and codegen/datetimes.py
    # write them; a contract that says otherwise would differ from the published document.
    types = node.get("type")
    if types == "integer" or (isinstance(types, list) and "integer" in types):
        low = node.get("minimum", node.get("exclusiveMinimum", -math.inf) + 1)
        high = node.get("maximum", node.get("exclusiveMaximum", math.inf) - 1)
        expected = integer_format(low, high)
        if node.get("format") != expected:
            raise ContractError(f"{where}: an integer from {low} to {high} has format {expected!r}")
    if node.get("format") == "date-time" and node.get("maxLength") != DATETIME_MAX_LENGTH:
        raise ContractError(f"{where}: a date-time has maxLength {DATETIME_MAX_LENGTH}")


def _walk(
    node: Any, pointer: str, parent_key: str | None
) -> Iterator[tuple[str, str | None, JsonObject]]:
    if not isinstance(node, dict):
        return
    yield pointer, parent_key, node
    for key in _SUBSCHEMA:
        sub = node.get(key)
        if isinstance(sub, dict):
            yield from _walk(sub, f"{pointer}/{key}", key)
    for key in _SUBSCHEMA_LISTS:
        for index, sub in enumerate(node.get(key) or []):
            yield from _walk(sub, f"{pointer}/{key}/{index}", key)
    for key in _SUBSCHEMA_MAPS:
        for prop, sub in (node.get(key) or {}).items():
            yield from _walk(sub, f"{pointer}/{key}/{prop}", key)
