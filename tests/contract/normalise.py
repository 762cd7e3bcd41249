"""A representation-free form of a JSON Schema, and a diff that names every difference.

The contracts and the published document describe the same types in different shapes:
`type: [X, "null"]` versus pydantic's `anyOf: [X, {type: null}]`, a `$ref` to a plain alias
(`RunId`) versus the alias's constraints inlined, `64` versus `64.0`. `normalise` folds these
away: named types (objects and enums) stay references by name, aliases are resolved to their
constraints, null-ability becomes a flag, and titles, descriptions and examples are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]
Norm = dict[str, Any]

IGNORED = frozenset({"title", "description", "examples", "example", "$schema", "$id", "$comment"})
LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})
NULL = "null"


@dataclass(frozen=True)
class Side:
    """One document's schemas, how its `$ref`s name them, and which names stay by name."""

    label: str
    schemas: Mapping[str, Schema]
    ref_name: Callable[[str], str]
    named: frozenset[str]


def is_named_type(schema: Schema) -> bool:
    """Objects and enums are compared by name; everything else by its constraints."""
    return "enum" in schema or schema.get("type") == "object" or "properties" in schema


def number(value: Any) -> Any:
    """`1.0` -> `1`, recursively, so JSON numbers compare by value; booleans stay booleans."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [number(item) for item in value]
    if isinstance(value, dict):
        return {key: number(item) for key, item in value.items()}
    return value


def normalise(schema: Schema | bool, side: Side) -> Norm:
    """The normal form of `schema`, resolved within `side`."""
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    rest = dict(schema)
    if "allOf" in rest and len(rest["allOf"]) == 1:  # pydantic's `$ref` with siblings, old style
        rest = {**rest.pop("allOf")[0], **rest}
    if "$ref" in rest:
        return _merge(_resolve(rest.pop("$ref"), side), normalise(rest, side))
    if "anyOf" in rest:
        return _merge(
            _union([normalise(branch, side) for branch in rest.pop("anyOf")]), normalise(rest, side)
        )
    out: Norm = {}
    for key, value in rest.items():
        if key in IGNORED:
            continue
        if key == "type":
            types = value if isinstance(value, list) else [value]
            out["type"] = sorted(t for t in types if t != NULL)
            if NULL in types:
                out["nullable"] = True
        elif key == "properties":
            out[key] = {name: normalise(sub, side) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = normalise(value, side)
        elif key == "prefixItems":
            out[key] = [normalise(sub, side) for sub in value]
        elif key == "required":
            if value:
                out[key] = sorted(value)
        elif key == "additionalProperties" and value is True:
            continue  # the default
        else:
            out[key] = number(value)
    return out


def _resolve(ref: str, side: Side) -> Norm:
    name = side.ref_name(ref)
    if name in side.named:
        return {"ref": name}
    if name not in side.schemas:
        return {"ref": f"{name} (unresolved in {side.label})"}
    return normalise(side.schemas[name], side)


def _union(branches: list[Norm]) -> Norm:
    nullable = any(_is_null(branch) for branch in branches)
    others = [branch for branch in branches if not _is_null(branch)]
    if len(others) == 1:
        out = dict(others[0])
    else:
        out = {"anyOf": sorted(others, key=lambda branch: json.dumps(branch, sort_keys=True))}
    if nullable:
        out["nullable"] = True
    return out


def _is_null(branch: Norm) -> bool:
    return branch.get("nullable") is True and branch.get("type") == [] and len(branch) == 2


def _merge(base: Norm, siblings: Norm) -> Norm:
    # A `$ref` with sibling keywords: both apply, so bounds intersect; the sibling wins otherwise.
    out = dict(base)
    for key, value in siblings.items():
        if key in LOWER_BOUNDS and key in out:
            out[key] = max(out[key], value)
        elif key in UPPER_BOUNDS and key in out:
            out[key] = min(out[key], value)
        else:
            out[key] = value
    return out


# Keys whose value maps member names to normal forms, and keys holding one normal form.
MEMBER_MAPS = frozenset({"properties", "parameters", "responses", "content", "headers"})
NESTED = frozenset({"items", "additionalProperties", "requestBody"})


def diff(contract: Norm, published: Norm, path: str) -> Iterator[str]:
    """Every difference between two normal forms, as `path: contract K V, published K W`."""
    for key in sorted(set(contract) | set(published)):
        mine, theirs = contract.get(key), published.get(key)
        if key == "required" and mine != theirs and _is_names(mine) and _is_names(theirs):
            for name in sorted(set(mine or []) ^ set(theirs or [])):
                side = "contract" if name in (mine or []) else "published"
                yield f"{path}: required {name!r} only in {side}"
        elif not (isinstance(mine, dict) and isinstance(theirs, dict)):
            if mine != theirs:
                yield f"{path}: contract {key} {_show(mine)}, published {_show(theirs)}"
        elif key in NESTED:
            yield from diff(mine, theirs, f"{path}.{key}")
        elif key in MEMBER_MAPS:
            for name in sorted(set(mine) | set(theirs)):
                where = f"{path}.{key}.{name}"
                if name not in theirs:
                    yield f"{where}: only in contract"
                elif name not in mine:
                    yield f"{where}: only in published"
                else:
                    yield from diff(mine[name], theirs[name], where)
        elif mine != theirs:
            yield f"{path}: contract {key} {_show(mine)}, published {_show(theirs)}"


def _is_names(value: Any) -> bool:
    # An object's `required` lists names; a parameter's `required` is a boolean.
    return value is None or isinstance(value, list)


def _show(value: Any) -> str:
    return "None" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)
