"""Proof that the published OpenAPI document says what `contracts/` says.

`differences(...)` walks both documents and returns every difference as a readable line,
e.g. `components.Run.properties.id: contract maxLength 64, published None`; an empty list
means the two are equivalent in everything clients and SDKs depend on: paths and webhooks,
methods, operationIds, tags, deprecation, security requirements, parameters, request bodies,
responses (status codes, media types, models, headers), every component's properties,
requirements and bounds, and the security schemes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tests.contract.documents import (
    Document,
    contract_ref_name,
    operations,
    published_ref_name,
    resolved,
)
from tests.contract.normalise import Norm, Side, diff, is_named_type, normalise

# Where operations live: the API's own, and the webhooks it sends.
SECTIONS = ("paths", "webhooks")


def differences(
    *, contract_ops: Document, contract_schemas: Mapping[str, Document], published: Document
) -> list[str]:
    """Every way `published` differs from the contracts; empty when equivalent."""
    components = published.get("components", {}).get("schemas", {})
    contract = Side("contract", contract_schemas, contract_ref_name, _named(contract_schemas))
    served = Side("published", components, published_ref_name, _named(components))
    return [
        *_operation_differences(contract_ops, published, contract, served),
        *_component_differences(contract_ops, contract, served),
        *diff(
            {"securitySchemes": contract_ops.get("components", {}).get("securitySchemes")},
            {"securitySchemes": published.get("components", {}).get("securitySchemes")},
            "components",
        ),
    ]


def _named(schemas: Mapping[str, Document]) -> frozenset[str]:
    return frozenset(name for name, schema in schemas.items() if is_named_type(schema))


def _operation_differences(
    contract_ops: Document, published: Document, contract: Side, served: Side
) -> Iterator[str]:
    for section in SECTIONS:
        mine, theirs = operations(contract_ops, section), operations(published, section)
        for key in sorted(set(mine) | set(theirs)):
            where = f"{section}.{key[1]}.{key[0].lower()}"
            if key not in theirs:
                yield f"{where}: only in contract"
            elif key not in mine:
                yield f"{where}: only in published"
            else:
                yield from diff(
                    _operation(mine[key], contract_ops, contract),
                    _operation(theirs[key], published, served),
                    where,
                )


def _operation(operation: Document, document: Document, side: Side) -> Norm:
    responses = {
        status: resolved(document, response)
        for status, response in operation.get("responses", {}).items()
    }
    return {
        "operationId": operation.get("operationId"),
        "tags": operation.get("tags"),
        "deprecated": bool(operation.get("deprecated", False)),
        "security": operation.get("security"),
        "parameters": _parameters(operation.get("parameters", []), side),
        "requestBody": _request_body(operation.get("requestBody"), side),
        "responses": {
            status: {
                "content": _content(response.get("content", {}), side),
                "headers": {
                    name.lower(): normalise(resolved(document, header).get("schema", {}), side)
                    for name, header in response.get("headers", {}).items()
                },
            }
            for status, response in responses.items()
        },
    }


def _parameters(parameters: list[Document], side: Side) -> dict[str, Norm]:
    out = {}
    for parameter in parameters:
        name, place, required = parameter["name"], parameter["in"], parameter.get("required", False)
        schema = normalise(parameter.get("schema", {}), side)
        if not required:
            # FastAPI publishes an optional parameter as `anyOf: [X, {type: null}]`; absence is
            # the only way to send no value in a query or a header, so the null is notation.
            schema.pop("nullable", None)
        # Header names are case-insensitive.
        out[f"{place}.{name.lower() if place == 'header' else name}"] = {
            **schema,
            "required": required,
        }
    return out


def _request_body(body: Document | None, side: Side) -> Norm:
    if body is None:
        return {}
    return {"required": body.get("required", False), "content": _content(body["content"], side)}


def _content(content: Mapping[str, Document], side: Side) -> dict[str, Norm]:
    return {
        media_type: normalise(media.get("schema", {}), side)
        for media_type, media in content.items()
    }


def _component_differences(contract_ops: Document, contract: Side, served: Side) -> Iterator[str]:
    for name in sorted(set(served.schemas) - set(contract.schemas)):
        yield f"components.{name}: only in published (no contracts/schemas/{name}.schema.json)"
    for name in sorted(reachable(contract_ops, contract) & contract.named - set(served.schemas)):
        yield f"components.{name}: reachable from an operation in the contract, not published"
    for name in sorted(set(served.schemas) & set(contract.schemas)):
        yield from diff(
            normalise(contract.schemas[name], contract),
            normalise(served.schemas[name], served),
            f"components.{name}",
        )


def reachable(contract_ops: Document, contract: Side) -> set[str]:
    """Names of the contract schemas that an operation refers to, directly or not."""
    seen: set[str] = set()
    pending = [
        contract.ref_name(ref)
        for section in SECTIONS
        for ref in _refs(contract_ops.get(section, {}))
    ]
    while pending:
        name = pending.pop()
        if name in seen or name not in contract.schemas:
            continue
        seen.add(name)
        pending.extend(contract.ref_name(ref) for ref in _refs(contract.schemas[name]))
    return seen


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
