"""Turn operations into what the router and Protocol templates print."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from codegen.contracts import Contracts, JsonObject, Operation, Parameter
from codegen.errors import ContractError

_PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
# JSON Schema keyword -> FastAPI Query/Path/Header keyword.
_PARAM_CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
}
_LOCATION_CLASS = {"path": "Path", "query": "Query", "header": "Header"}
# The route reads `Accept` (not published: OpenAPI ignores an `Accept` parameter, the media
# types under the response say it) and hands the handler the preferred `media_type`.
NEGOTIATION_ARGUMENTS = ("accept", "media_type")
# Every route function takes these besides the contract's parameters.
ROUTE_ARGUMENTS = ("request", "response")


@dataclass(frozen=True)
class Argument:
    """One argument of a route function and of its Protocol method."""

    name: str
    annotation: str  # for the route function (with Query/Path/Header)
    protocol_annotation: str  # for the Protocol method
    default: str | None  # source text of the default, None when required


@dataclass(frozen=True)
class RouteView:
    """Everything a template needs about one operation."""

    op: Operation
    function: str
    arguments: tuple[Argument, ...]
    status_code: int
    response_model: str | None
    return_annotation: str
    responses: str  # source text of the `responses=` dict
    openapi_extra: str | None
    models: frozenset[str]
    # The success media types the handler chooses from (`media_type`), when there are several.
    negotiated: tuple[str, ...] = ()


def snake(name: str) -> str:
    """`createRun` -> `create_run`; `Idempotency-Key` -> `idempotency_key`."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return name.strip("_").lower()


def pascal(tag: str) -> str:
    """`reality-profiles` -> `RealityProfiles`."""
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", tag) if part)


def route_view(contracts: Contracts, op: Operation) -> RouteView:
    """Describe one route for the templates."""
    models: set[str] = set()
    arguments = [_argument(contracts, p, models) for p in op.parameters]
    if op.body_model:
        models.add(op.body_model)
        arguments.insert(0, Argument("body", op.body_model, op.body_model, None))
    success = op.success
    if not success:
        raise ContractError(f"openapi.yaml {op.operation_id}: no 2xx response")
    primary = success[0]
    success_models = sorted({r.model for r in success if r.model})
    models.update(r.model for r in op.responses if r.model)
    response_model = primary.model
    if len(success_models) > 1:
        response_model = " | ".join(success_models)
    return_annotation = response_model or "None"
    negotiated = primary.media_types if len(primary.media_types) > 1 else ()
    if any(r.binary for r in success):
        # For a binary media type the handler returns the bytes in a `Response` of its own.
        return_annotation = f"{return_annotation} | Response"
    reserved = sorted({a.name for a in arguments} & set(ROUTE_ARGUMENTS))
    if reserved:
        raise ContractError(
            f"openapi.yaml {op.operation_id}: parameter {reserved[0]!r} clashes with an"
            " argument every route function takes"
        )
    if negotiated:
        taken = sorted({a.name for a in arguments} & set(NEGOTIATION_ARGUMENTS))
        if taken:
            raise ContractError(
                f"openapi.yaml {op.operation_id}: parameter {taken[0]!r} clashes with the"
                " argument codegen adds for content negotiation"
            )
    ordered = sorted(arguments, key=lambda a: a.default is not None)
    return RouteView(
        op=op,
        function=snake(op.operation_id),
        arguments=tuple(ordered),
        status_code=int(primary.status),
        response_model=response_model,
        return_annotation=return_annotation,
        responses=_responses_source(op, primary_status=primary.status),
        openapi_extra=repr(op.extensions) if op.extensions else None,
        models=frozenset(models),
        negotiated=negotiated,
    )


def _argument(contracts: Contracts, param: Parameter, models: set[str]) -> Argument:
    schema = param.schema
    name = snake(param.name)
    kwargs: list[str] = []
    if param.location == "header" or name != param.name:
        kwargs.append(f"alias={param.name!r}")
    if param.description:
        kwargs.append(f"description={param.description!r}")
    if "enum" in schema:
        if param.ref_name is None:
            raise ContractError(f"parameter {param.name!r}: an enum parameter must $ref a schema")
        base = param.ref_name
        models.add(base)
    else:
        py_type = _PY_TYPES.get(schema.get("type", ""))
        if py_type is None:
            raise ContractError(
                f"parameter {param.name!r}: type {schema.get('type')!r} unsupported"
            )
        base = py_type
        for key, kw in _PARAM_CONSTRAINTS.items():
            if key in schema:
                kwargs.append(f"{kw}={schema[key]!r}")
    call = f"{_LOCATION_CLASS[param.location]}({', '.join(kwargs)})"
    if param.required:
        return Argument(name, f"Annotated[{base}, {call}]", base, None)
    if "default" in schema:
        default = _literal(schema["default"], enum=base if "enum" in schema else None)
        return Argument(name, f"Annotated[{base}, {call}]", base, default)
    return Argument(name, f"Annotated[{base} | None, {call}]", f"{base} | None", "None")


def _literal(value: Any, *, enum: str | None) -> str:
    if enum is not None:
        return f"{enum}({value!r})"
    return repr(value)


def _responses_source(op: Operation, *, primary_status: str) -> str:
    entries: list[str] = []
    for response in op.responses:
        key = '"default"' if response.status == "default" else response.status
        item: dict[str, Any] = {"description": response.description}
        if response.model and response.status != primary_status:
            item["model"] = response.model
        if response.binary:
            # FastAPI adds the response model's application/json next to these.
            item["content"] = response.binary
        for extra in ("headers", "links"):
            if extra in response.raw:
                item[extra] = response.raw[extra]
        entries.append(f"        {key}: {_dict_source(item)},")
    return "{\n" + "\n".join(entries) + "\n    }"


def _dict_source(item: JsonObject) -> str:
    # `model` is a class, every other value is data.
    parts = [
        f"{key!r}: {value}" if key == "model" else f"{key!r}: {value!r}"
        for key, value in item.items()
    ]
    return "{" + ", ".join(parts) + "}"
