"""`generated/types.py`: the types the generated models share.

Two passes over datamodel-codegen's output use them: `codegen/integers.py` (integers as JSON
Schema counts them, and their `format`) and `codegen/datetimes.py` (a date-time's
`maxLength`). Pydantic has no type that publishes either keyword, so a `PublishedKeywords`
marker adds what the contract states to the JSON Schema of the field.
"""

from __future__ import annotations

# Every `format: date-time` string of the contract states this `maxLength` (codegen/rules.py
# checks it): the server writes at most 32 characters (microseconds and a `+hh:mm` offset).
DATETIME_MAX_LENGTH = 64

TYPES_MODULE = f'''"""Types the generated models share (see codegen/shared_types.py)."""

from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, GetJsonSchemaHandler, StrictInt
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def _whole_float_to_int(value: object) -> object:
    # JSON parsers hand `100.0` over as a float; JSON Schema counts it as an integer.
    if type(value) is float and value.is_integer():
        return int(value)
    return value


class PublishedKeywords:
    """JSON Schema keywords the contract states that no pydantic type publishes, added to
    the published schema of `json_type` (or to that branch of a nullable union)."""

    def __init__(self, json_type: str, **keywords: Any) -> None:
        self.json_type = json_type
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        published = handler(schema)
        for branch in (published, *published.get("anyOf", ())):
            if branch.get("type") == self.json_type:
                branch.update(self.keywords)
        return published


WHOLE_FLOAT_AS_INT = BeforeValidator(_whole_float_to_int)
INT32 = PublishedKeywords("integer", format="int32")
INT64 = PublishedKeywords("integer", format="int64")
ContractInt = Annotated[StrictInt, WHOLE_FLOAT_AS_INT]
ContractDatetime = Annotated[
    AwareDatetime, PublishedKeywords("string", maxLength={DATETIME_MAX_LENGTH})
]
'''
