"""Read a contracts folder: the schemas and the operations of `openapi.yaml`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from codegen.errors import ContractError

SCHEMA_SUFFIX = ".schema.json"
SCHEMA_REF_PREFIX = "schemas/"
# Responses and headers defined once under `components` of openapi.yaml, and published there.
COMPONENT_REF_PREFIX = "#/components/"
JSON_MEDIA_TYPE = "application/json"
MULTIPART_MEDIA_TYPE = "multipart/form-data"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]*$")

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Parameter:
    """One operation parameter with its schema resolved to primitives."""

    name: str
    location: str  # path | query | header
    required: bool
    schema: JsonObject  # the parameter's schema, `$ref`s into schemas/ resolved
    ref_name: str | None  # the contract type when the schema is a `$ref`
    description: str


@dataclass(frozen=True)
class Response:
    """One documented response of an operation."""

    status: str  # "200", "404", "default"
    description: str
    media_type: str | None
    model: str | None
    raw: JsonObject
    # Success only: further media types whose body is bytes (e.g. application/octet-stream),
    # by media type, as the contract states them; the handler returns a `Response` for them.
    binary: JsonObject = field(default_factory=dict)
    # `#/components/responses/<Name>` when the operation refers to a shared response (the
    # fields above then describe that response); published as the same reference.
    ref: str | None = None

    @property
    def media_types(self) -> tuple[str, ...]:
        """Every media type of the response, the JSON one first."""
        return (*([self.media_type] if self.media_type else []), *self.binary)


@dataclass(frozen=True)
class RequestBody:
    """An operation's request body: JSON, or a `multipart/form-data` form of one schema."""

    media_type: str  # JSON_MEDIA_TYPE | MULTIPART_MEDIA_TYPE
    model: str
    raw: JsonObject  # the contract's requestBody object, as written
    # Multipart only: the properties sent as file parts, and those that may repeat (arrays).
    file_fields: tuple[str, ...] = ()
    array_fields: tuple[str, ...] = ()
    # Fields whose text a form reader turns into JSON values first: (name, JSON type).
    typed_fields: tuple[tuple[str, str], ...] = ()

    @property
    def is_form(self) -> bool:
        return self.media_type == MULTIPART_MEDIA_TYPE


@dataclass(frozen=True)
class Operation:
    """One operation of `openapi.yaml`."""

    operation_id: str
    method: str
    path: str
    tag: str
    summary: str
    description: str
    deprecated: bool
    extensions: JsonObject
    parameters: tuple[Parameter, ...]
    body: RequestBody | None
    responses: tuple[Response, ...]
    # The operation's `security` requirements as written; None when it declares none.
    security: list[JsonObject] | None = None

    @property
    def body_model(self) -> str | None:
        return self.body.model if self.body else None

    @property
    def success(self) -> tuple[Response, ...]:
        return tuple(r for r in self.responses if r.status.startswith("2"))


@dataclass(frozen=True)
class Contracts:
    """A loaded contracts folder."""

    root: Path
    schemas: dict[str, JsonObject]  # title -> schema
    files: dict[str, str]  # title -> file name
    openapi: JsonObject
    operations: tuple[Operation, ...] = field(default=())
    webhooks: tuple[Operation, ...] = field(default=())  # requests QERS sends

    @property
    def tags(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for tag in self.openapi.get("tags", []):
            seen[tag["name"]] = None
        for op in self.operations:
            seen.setdefault(op.tag, None)
        return tuple(seen)

    def schema_file(self, name: str) -> str:
        return f"contracts/schemas/{self.files[name]}"


def load_contracts(root: Path) -> Contracts:
    """Load and cross-check `root/schemas/*.schema.json` and `root/openapi.yaml`."""
    schemas: dict[str, JsonObject] = {}
    files: dict[str, str] = {}
    schema_dir = root / "schemas"
    if not schema_dir.is_dir():
        raise ContractError(f"{schema_dir}: no schemas folder")
    for path in sorted(schema_dir.glob(f"*{SCHEMA_SUFFIX}")):
        name = path.name.removesuffix(SCHEMA_SUFFIX)
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ContractError(f"{path.name}: not JSON: {exc}") from exc
        if schema.get("title") != name:
            raise ContractError(f"{path.name}: title must be {name!r}, not {schema.get('title')!r}")
        if schema.get("$id") != path.name:
            raise ContractError(f"{path.name}: $id must be {path.name!r}")
        schemas[name] = schema
        files[name] = path.name
    openapi_path = root / "openapi.yaml"
    try:
        openapi = yaml.safe_load(openapi_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{openapi_path.name}: cannot read: {exc}") from exc
    contracts = Contracts(root=root, schemas=schemas, files=files, openapi=openapi)
    for ref in _component_refs(openapi):
        component(openapi, ref, where=f"openapi.yaml $ref {ref!r}")
    operations = _operations(contracts, openapi.get("paths") or {}, section="paths")
    webhooks = _operations(contracts, openapi.get("webhooks") or {}, section="webhooks")
    seen: set[str] = set()
    for op in (*operations, *webhooks):
        if op.operation_id in seen:
            raise ContractError(f"openapi.yaml: duplicate operationId {op.operation_id!r}")
        seen.add(op.operation_id)
    return Contracts(
        root=root,
        schemas=schemas,
        files=files,
        openapi=openapi,
        operations=operations,
        webhooks=webhooks,
    )


def ref_name(ref: str, *, where: str) -> str:
    """Map `schemas/Run.schema.json` (or `Run.schema.json`) to `Run`."""
    name = ref.removeprefix(SCHEMA_REF_PREFIX)
    if "#" in name or "/" in name or not name.endswith(SCHEMA_SUFFIX):
        raise ContractError(f"{where}: $ref {ref!r} must name a file in schemas/")
    return name.removesuffix(SCHEMA_SUFFIX)


def component(openapi: JsonObject, ref: str, *, where: str) -> JsonObject:
    """The `#/components/<section>/<Name>` that `ref` names; ContractError when it is missing."""
    section, _, name = ref.removeprefix(COMPONENT_REF_PREFIX).partition("/")
    found = openapi.get("components", {}).get(section, {}).get(name)
    if not ref.startswith(COMPONENT_REF_PREFIX) or "/" in name or not isinstance(found, dict):
        raise ContractError(f"{where}: names no component of openapi.yaml")
    return found


def _component_refs(node: Any) -> list[str]:
    """Every `$ref` into `#/components/` anywhere in `node`."""
    if isinstance(node, list):
        return [ref for item in node for ref in _component_refs(item)]
    if not isinstance(node, dict):
        return []
    own = node.get("$ref")
    found = [own] if isinstance(own, str) and own.startswith("#") else []
    return found + [ref for value in node.values() for ref in _component_refs(value)]


def _operations(contracts: Contracts, items: JsonObject, *, section: str) -> tuple[Operation, ...]:
    operations: list[Operation] = []
    for path, item in items.items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            where = f"openapi.yaml {section} {method.upper()} {path}"
            op_id = op.get("operationId")
            if not isinstance(op_id, str) or not OPERATION_ID.match(op_id):
                raise ContractError(f"{where}: operationId must be camelCase, got {op_id!r}")
            tags = op.get("tags") or []
            if len(tags) != 1:
                raise ContractError(f"{where}: exactly one tag required, got {tags!r}")
            operations.append(
                Operation(
                    operation_id=op_id,
                    method=method,
                    path=path,
                    tag=tags[0],
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    deprecated=bool(op.get("deprecated", False)),
                    extensions={k: v for k, v in op.items() if k.startswith("x-")},
                    parameters=tuple(
                        _parameter(contracts, p, where=where)
                        for p in [*shared, *op.get("parameters", [])]
                    ),
                    body=_body(contracts, op.get("requestBody"), where=where),
                    responses=tuple(
                        _response(contracts, str(status), resp, where=where)
                        for status, resp in (op.get("responses") or {}).items()
                    ),
                    security=op.get("security"),
                )
            )
    return tuple(operations)


def _schema_ref(contracts: Contracts, schema: JsonObject, *, where: str) -> str | None:
    ref = schema.get("$ref")
    if ref is None:
        return None
    name = ref_name(ref, where=where)
    if name not in contracts.schemas:
        raise ContractError(f"{where}: $ref {ref!r} names no schema in schemas/")
    return name


def _parameter(contracts: Contracts, raw: JsonObject, *, where: str) -> Parameter:
    name = raw["name"]
    location = raw["in"]
    if location not in ("path", "query", "header"):
        raise ContractError(f"{where}: parameter {name!r} in {location!r} is not supported")
    schema = raw.get("schema") or {}
    ref = _schema_ref(contracts, schema, where=f"{where} parameter {name!r}")
    resolved = dict(contracts.schemas[ref]) if ref else dict(schema)
    if ref and "default" in schema:
        resolved["default"] = schema["default"]
    return Parameter(
        name=name,
        location=location,
        required=bool(raw.get("required", location == "path")),
        schema=resolved,
        ref_name=ref,
        description=raw.get("description", resolved.get("description", "")),
    )


def _body(contracts: Contracts, body: JsonObject | None, *, where: str) -> RequestBody | None:
    if body is None:
        return None
    content = body.get("content") or {}
    if list(content) not in ([JSON_MEDIA_TYPE], [MULTIPART_MEDIA_TYPE]):
        raise ContractError(
            f"{where}: request body must be one of {JSON_MEDIA_TYPE} and {MULTIPART_MEDIA_TYPE}"
        )
    media_type = next(iter(content))
    name = _schema_ref(contracts, content[media_type].get("schema", {}), where=where)
    if name is None:
        raise ContractError(f"{where}: request body schema must be a $ref into schemas/")
    if media_type == JSON_MEDIA_TYPE:
        return RequestBody(media_type, name, body)
    return _form_body(contracts, name, body, where=where)


def _form_body(contracts: Contracts, name: str, body: JsonObject, *, where: str) -> RequestBody:
    """A multipart body: an object whose properties are form fields or file parts."""
    schema = contracts.schemas[name]
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        raise ContractError(f"{where}: a multipart body's schema must be a closed object")
    files: list[str] = []
    arrays: list[str] = []
    typed: list[tuple[str, str]] = []
    for prop, sub in (schema.get("properties") or {}).items():
        at = f"{where} {name}.{prop}"
        resolved = _resolved(contracts, sub, where=at)
        kind = resolved.get("type")
        if kind == "string" and "contentMediaType" in resolved:
            files.append(prop)
        elif kind == "array":
            items = _resolved(
                contracts, resolved.get("items") or {}, where=f"{where} {name}.{prop}"
            )
            if items.get("type") != "string":
                raise ContractError(
                    f"{where}: form field {prop!r} repeats, so its items are strings"
                )
            arrays.append(prop)
        elif kind in ("integer", "number", "boolean"):
            typed.append((prop, kind))
        elif kind != "string":
            raise ContractError(f"{where}: form field {prop!r} must be a string, number or boolean")
    if not files:
        raise ContractError(f"{where}: a multipart body needs a file property (contentMediaType)")
    encoding = body["content"][MULTIPART_MEDIA_TYPE].get("encoding") or {}
    unknown = sorted(set(encoding) - set(schema.get("properties") or {}))
    if unknown:
        raise ContractError(f"{where}: encoding names {unknown[0]!r}, not a property of {name}")
    return RequestBody(MULTIPART_MEDIA_TYPE, name, body, tuple(files), tuple(arrays), tuple(typed))


def _resolved(contracts: Contracts, schema: JsonObject, *, where: str) -> JsonObject:
    """`schema`, or the schema its `$ref` names."""
    ref = _schema_ref(contracts, schema, where=where)
    return contracts.schemas[ref] if ref else schema


def _response(contracts: Contracts, status: str, raw: JsonObject, *, where: str) -> Response:
    where = f"{where} response {status}"
    ref = raw.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith(f"{COMPONENT_REF_PREFIX}responses/"):
            raise ContractError(f"{where}: a response $ref names #/components/responses/<Name>")
        shared = component(contracts.openapi, ref, where=where)
        return replace(_response(contracts, status, shared, where=where), ref=ref)
    content: JsonObject = raw.get("content") or {}
    is_error = status == "default" or status[0] in "45"
    binary = {} if is_error else {m: c for m, c in content.items() if _is_binary(m, c)}
    typed = [m for m in content if m not in binary]
    if is_error and len(typed) > 1:
        raise ContractError(f"{where}: errors are application/problem+json with Problem only")
    if len(typed) > 1:
        raise ContractError(
            f"{where}: one media type with a model per response, got {typed};"
            " any other must be binary (`type: string`, no $ref, not JSON)"
        )
    if len(binary) > 1 and not typed:
        raise ContractError(f"{where}: one binary media type, or a JSON one with binary ones")
    media_type = typed[0] if typed else None
    model = None
    if media_type is not None:
        model = _schema_ref(contracts, content[media_type].get("schema", {}), where=where)
        if model is None:
            raise ContractError(f"{where}: schema must be a $ref into schemas/")
        if is_error and (media_type != "application/problem+json" or model != "Problem"):
            raise ContractError(f"{where}: errors are application/problem+json with Problem")
    return Response(
        status=status,
        description=raw.get("description", ""),
        media_type=media_type,
        model=model,
        raw=raw,
        binary=binary,
    )


def _is_binary(media_type: str, media: JsonObject) -> bool:
    # OpenAPI 3.1 spells a bytes body `type: string` with `contentMediaType`; no $ref, no JSON.
    schema = media.get("schema") or {}
    is_json = media_type == "application/json" or media_type.endswith("+json")
    return not is_json and schema.get("type") == "string" and "$ref" not in schema
