"""A small contracts folder: three schemas, relative $refs, a date-time format."""

import json
from pathlib import Path
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS: dict[str, dict[str, Any]] = {
    "Steps": {"type": "integer", "minimum": 1, "maximum": 1000},
    "Options": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "steps": {"$ref": "Steps.schema.json"},
            "start": {"type": "string", "format": "date-time"},
        },
    },
    "Widget": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "options"],
        "properties": {
            "name": {"type": "string", "maxLength": 8},
            "options": {"$ref": "Options.schema.json"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        },
    },
}


def write_contracts(root: Path) -> Path:
    """Write the schemas under `root/contracts/schemas`; return `root/contracts`."""
    folder = root / "contracts" / "schemas"
    folder.mkdir(parents=True)
    for name, body in SCHEMAS.items():
        document = {"$schema": DRAFT, "$id": f"{name}.schema.json", "title": name, **body}
        (folder / f"{name}.schema.json").write_text(json.dumps(document), encoding="utf-8")
    return folder.parent
