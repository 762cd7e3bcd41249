"""Turn operations into what the router and Protocol templates print."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from codegen.contracts import SCHEMA_REF_PREFIX, Contracts, JsonObject, Operation, Parameter
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
class FormView:
    """A `multipart/form-data` body: what the route's form reader needs."""

    model: str
    reader: str  # the module-level name of the route's form reader
    file_fields: tuple[str, ...]
    array_fields: tuple[str, ...]
    typed_fields: tuple[tuple[str, str], ...]
    file_schemas: str  # source text: {property: its contract schema} for the published document


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
    form: FormView | None = None


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
    form = None
    if op.body is not None:
        models.add(op.body.model)
        if op.body.is_form:
            form = _form_view(contracts, op)
        else:
            arguments.insert(0, Argument("body", op.body.model, op.body.model, None))
    success = op.success
    if not success:
        raise ContractError(f"openapi.yaml {op.operation_id}: no 2xx response")
    if any(r.ref for r in success):
        raise ContractError(f"openapi.yaml {op.operation_id}: a success response is not a $ref")
    primary = success[0]
    success_models = sorted({r.model for r in success if r.model})
    models.update(r.model for r in op.responses if r.model and not r.ref)
    response_model = primary.model
    if len(success_models) > 1:
        response_model = " | ".join(success_models)
    return_annotation = response_model or "None"
    negotiated = primary.media_types if len(primary.media_types) > 1 else ()
    if any(r.binary for r in success):
        # For a binary media type the handler returns the bytes in a `Response` of its own.
        return_annotation = f"{response_model} | Response" if response_model else "Response"
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
        openapi_extra=_openapi_extra(op),
        models=frozenset(models),
        negotiated=negotiated,
        form=form,
    )


def _form_view(contracts: Contracts, op: Operation) -> FormView:
    body = op.body
    assert body is not None
    assert body.is_form
    properties = contracts.schemas[body.model].get("properties", {})
    file_schemas = {name: published(properties[name]) for name in body.file_fields}
    return FormView(
        model=body.model,
        reader=f"_{snake(op.operation_id)}_form",
        file_fields=body.file_fields,
        array_fields=body.array_fields,
        typed_fields=body.typed_fields,
        file_schemas=repr(file_schemas),
    )


def _openapi_extra(op: Operation) -> str | None:
    """Extensions, `security`, and a multipart body as the contract writes it (FastAPI sees
    no body, and no security: the HTTP edge enforces it, see handlers/http/auth.py)."""
    extra: JsonObject = dict(op.extensions)
    if op.security is not None:
        extra["security"] = op.security
    if op.body is not None and op.body.is_form:
        extra["requestBody"] = published(op.body.raw)
    return repr(extra) if extra else None


def published(value: Any) -> Any:
    """`value` with `$ref`s into schemas/ pointing at the published components instead."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith(SCHEMA_REF_PREFIX):
                out[key] = (
                    "#/components/schemas/" + item.removeprefix(SCHEMA_REF_PREFIX).split(".")[0]
                )
            else:
                out[key] = published(item)
        return out
    if isinstance(value, list):
        return [published(item) for item in value]
    return value


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
        if "format" in schema:
            # FastAPI publishes no format of its own (e.g. an integer's int32).
            kwargs.append(f"json_schema_extra={{'format': {schema['format']!r}}}")
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
        if response.ref:
            # Published as the reference (generated/api.py drops the description FastAPI adds).
            entries.append(f"        {key}: {_dict_source({'$ref': response.ref})},")
            continue
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
