"""Reading `multipart/form-data` bodies as the contract describes them.

FastAPI would describe a form built from `File()`/`Form()` parameters in its own words
(no `encoding`, its own component name), so a form route takes no body parameter: the
contract's requestBody is published as written, and the route's reader parses the form,
hands file parts over as `UploadFile`s and validates every other field with the body's
model, failing like a JSON body (a 422 with a pointer per field).
"""

from __future__ import annotations

MULTIPART_MODULE = '''"""Multipart form bodies: parsed, split into fields and files, validated."""

import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

MULTIPART_MEDIA_TYPE = "multipart/form-data"
MAX_FIELDS = 64
# JSON's number grammar (no NaN, no infinities, no leading `+` or zeros).
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class FormParts(Generic[ModelT]):
    """A parsed form: the fields validated by the body model, the file parts by name.

    In `body`, a file property holds the part's file name as the client sent it (or "");
    its bytes are in `files`.
    """

    body: ModelT
    files: Mapping[str, UploadFile]


def form_reader(
    model: type[ModelT],
    *,
    files: tuple[str, ...],
    arrays: tuple[str, ...],
    typed: tuple[tuple[str, str], ...],
) -> Callable[[Request], AsyncIterator[FormParts[ModelT]]]:
    """A route dependency reading the request's form into `model` and its file parts.

    A form sends text: the fields in `typed` are read as the JSON value their text spells
    (`3`, `2.5`, `true`) before `model` validates them, and left as text when it spells
    none, so the model refuses them with its usual message.
    """
    kinds = dict(typed)

    async def read(request: Request) -> AsyncIterator[FormParts[ModelT]]:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != MULTIPART_MEDIA_TYPE:
            raise HTTPException(415, f"expected {MULTIPART_MEDIA_TYPE}")
        # One file part more than the form has, so that a repeated file part is refused by
        # name below rather than as "too many files".
        try:
            form = await request.form(max_files=len(files) + 1, max_fields=MAX_FIELDS)
        except MultiPartException as exc:
            raise HTTPException(400, f"malformed multipart body: {exc.message}") from exc
        try:  # the parts' temporary files are closed once the response is sent
            yield _parts(form, model, files=files, arrays=arrays, kinds=kinds)
        finally:
            await form.close()

    return read


def _parts(
    form: FormData,
    model: type[ModelT],
    *,
    files: tuple[str, ...],
    arrays: tuple[str, ...],
    kinds: Mapping[str, str],
) -> FormParts[ModelT]:
    data: dict[str, Any] = {}
    parts: dict[str, UploadFile] = {}
    errors: list[dict[str, Any]] = []
    for name in dict.fromkeys(form.keys()):
        values = form.getlist(name)
        uploads = [value for value in values if isinstance(value, UploadFile)]
        texts = [value for value in values if isinstance(value, str)]
        if name in files:
            if len(values) != 1 or len(uploads) != 1:
                errors.append(_error(name, "must be exactly one file part"))
                continue
            parts[name] = uploads[0]
            data[name] = uploads[0].filename or ""
        elif uploads:
            errors.append(_error(name, "must be a form field, not a file part"))
        elif name in arrays:
            data[name] = texts
        elif len(values) > 1:
            errors.append(_error(name, "must be given once"))
        else:
            data[name] = _json_value(texts[0], kinds.get(name))
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        errors += [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
    if errors:
        raise RequestValidationError(errors, body=data)
    return FormParts(body=body, files=parts)


def publish_form_schemas(
    document: dict[str, Any], forms: tuple[tuple[type[BaseModel], dict[str, Any]], ...]
) -> None:
    """Add each form model to the document's components, its file parts as the contract
    writes them (the model holds only their file names)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for model, file_schemas in forms:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        schema["properties"].update(file_schemas)
        components[model.__name__] = schema


def _json_value(text: str, kind: str | None) -> Any:
    if kind in ("integer", "number") and _NUMBER.fullmatch(text):
        number = float(text)
        return int(text) if kind == "integer" and _INTEGER.fullmatch(text) else number
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _error(name: str, message: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": ("body", name), "msg": message, "input": None}
'''
