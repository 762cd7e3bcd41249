"""The published document is equivalent to `contracts/`, and the proof notices differences."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.contract.documents import COMPONENT_PREFIX, Document
from tests.contract.equivalence import differences
from tests.contract.normalise import Side, normalise

pytestmark = pytest.mark.contract

Mutation = Callable[[Document], Document]


def test_published_document_is_equivalent_to_the_contracts(
    contract_ops: Document, contract_schemas: Mapping[str, Document], published: Document
) -> None:
    found = differences(
        contract_ops=contract_ops, contract_schemas=contract_schemas, published=published
    )
    assert found == [], "\n".join(found)


def _drop_required(document: Document) -> Document:
    document["components"]["schemas"]["Run"]["required"].remove("id")
    return document


def _lower_maximum(document: Document) -> Document:
    document["components"]["schemas"]["RunOptions"]["properties"]["steps"]["maximum"] = 999
    return document


def _rename_component(document: Document) -> Document:
    text = json.dumps(document).replace(
        f'"{COMPONENT_PREFIX}Scenario"', f'"{COMPONENT_PREFIX}ScenarioInfo"'
    )
    renamed: Document = json.loads(text)
    schemas = renamed["components"]["schemas"]
    schemas["ScenarioInfo"] = schemas.pop("Scenario")
    return renamed


def _not_nullable(document: Document) -> Document:
    prop = document["components"]["schemas"]["Run"]["properties"]["failure_reason"]
    prop["anyOf"] = [branch for branch in prop["anyOf"] if branch != {"type": "null"}]
    return document


def _drop_enum_value(document: Document) -> Document:
    document["components"]["schemas"]["RunStatus"]["enum"].remove("CANCELLED")
    return document


def _open_request_body(document: Document) -> Document:
    del document["components"]["schemas"]["RunCreate"]["additionalProperties"]
    return document


def _change_parameter(document: Document) -> Document:
    parameters = document["paths"]["/v1/runs"]["get"]["parameters"]
    next(p for p in parameters if p["name"] == "limit")["schema"]["maximum"] = 500
    return document


def _rename_operation(document: Document) -> Document:
    document["paths"]["/v1/runs"]["get"]["operationId"] = "getRuns"
    return document


def _swap_response_model(document: Document) -> Document:
    content = document["paths"]["/v1/runs/{run_id}"]["get"]["responses"]["200"]["content"]
    content["application/json"]["schema"] = {"$ref": f"{COMPONENT_PREFIX}Job"}
    return document


def _drop_download(document: Document) -> Document:
    content = document["paths"]["/v1/runs/{run_id}/replay"]["get"]["responses"]["200"]["content"]
    del content["application/octet-stream"]
    return document


def _drop_status(document: Document) -> Document:
    del document["paths"]["/v1/runs"]["post"]["responses"]["503"]
    return document


def _drop_path(document: Document) -> Document:
    del document["paths"]["/api/sim/compare"]
    return document


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_drop_required, ["components.Run: required 'id' only in contract"]),
        (
            _lower_maximum,
            ["components.RunOptions.properties.steps: contract maximum 1000000, published 999"],
        ),
        (
            _rename_component,
            [
                "components.ScenarioInfo: only in published"
                " (no contracts/schemas/ScenarioInfo.schema.json)",
                "components.Scenario: reachable from an operation in the contract, not published",
                'components.ScenarioList.properties.items.items: contract ref "Scenario",'
                ' published "ScenarioInfo"',
            ],
        ),
        (
            _not_nullable,
            ["components.Run.properties.failure_reason: contract nullable true, published None"],
        ),
        (
            _drop_enum_value,
            [
                'components.RunStatus: contract enum ["CREATED", "QUEUED", "RUNNING", "SUCCEEDED",'
                ' "FAILED", "CANCELLED"], published ["CREATED", "QUEUED", "RUNNING",'
                ' "SUCCEEDED", "FAILED"]'
            ],
        ),
        (
            _open_request_body,
            ["components.RunCreate: contract additionalProperties false, published None"],
        ),
        (
            _change_parameter,
            ["paths./v1/runs.get.parameters.query.limit: contract maximum 1000, published 500"],
        ),
        (
            _rename_operation,
            ['paths./v1/runs.get: contract operationId "listRuns", published "getRuns"'],
        ),
        (
            _swap_response_model,
            [
                "paths./v1/runs/{run_id}.get.responses.200.content.application/json:"
                ' contract ref "Run", published "Job"'
            ],
        ),
        (
            _drop_download,
            [
                "paths./v1/runs/{run_id}/replay.get.responses.200.content"
                ".application/octet-stream: only in contract"
            ],
        ),
        (_drop_status, ["paths./v1/runs.post.responses.503: only in contract"]),
        (_drop_path, ["paths./api/sim/compare.post: only in contract"]),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] if callable(value) else "",
)
def test_every_difference_is_reported(
    mutate: Mutation,
    expected: list[str],
    contract_ops: Document,
    contract_schemas: Mapping[str, Document],
    published: Document,
) -> None:
    found = differences(
        contract_ops=contract_ops,
        contract_schemas=contract_schemas,
        published=mutate(copy.deepcopy(published)),
    )
    assert sorted(found) == sorted(expected)


def test_all_mutations_at_once_are_all_reported(
    contract_ops: Document, contract_schemas: Mapping[str, Document], published: Document
) -> None:
    document = copy.deepcopy(published)
    for mutate in (_drop_required, _lower_maximum, _change_parameter, _drop_status):
        document = mutate(document)
    found = differences(
        contract_ops=contract_ops, contract_schemas=contract_schemas, published=document
    )
    assert len(found) == 4, found


def _webhook_documents(*, published_body: str) -> tuple[Document, dict[str, Any], Document]:
    event = {"type": "object", "properties": {"id": {"type": "string", "maxLength": 8}}}
    contract_ops = {
        "paths": {},
        "webhooks": {
            "ended": {
                "post": {
                    "operationId": "ended",
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "schemas/Event.schema.json"}}
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    published = copy.deepcopy(contract_ops)
    body = published["webhooks"]["ended"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {"$ref": f"{COMPONENT_PREFIX}{published_body}"}
    published["components"] = {"schemas": {published_body: event}}
    return contract_ops, {"Event": event}, published


def test_webhooks_are_compared_too() -> None:
    same = _webhook_documents(published_body="Event")
    assert differences(contract_ops=same[0], contract_schemas=same[1], published=same[2]) == []
    renamed = _webhook_documents(published_body="RunEvent")
    assert differences(
        contract_ops=renamed[0], contract_schemas=renamed[1], published=renamed[2]
    ) == [
        'webhooks.ended.post.requestBody.content.application/json: contract ref "Event",'
        ' published "RunEvent"',
        "components.RunEvent: only in published (no contracts/schemas/RunEvent.schema.json)",
        "components.Event: reachable from an operation in the contract, not published",
    ]


SCHEMAS: dict[str, Any] = {
    "RunId": {"type": "string", "maxLength": 64, "pattern": "^run_[a-z0-9_]{1,60}$"},
    "RunStatus": {"type": "string", "enum": ["CREATED", "FAILED"]},
}
SIDE = Side("test", SCHEMAS, lambda ref: ref.rsplit("/", 1)[-1], frozenset({"RunStatus"}))


@pytest.mark.parametrize(
    ("contract", "published"),
    [
        (
            {"type": ["number", "null"], "maximum": 1},
            {"anyOf": [{"type": "number", "maximum": 1.0}, {"type": "null"}]},
        ),
        (
            {"$ref": "RunId"},
            {
                "type": "string",
                "maxLength": 64,
                "pattern": "^run_[a-z0-9_]{1,60}$",
                "title": "Run Id",
            },
        ),
        (
            {"anyOf": [{"$ref": "RunStatus"}, {"type": "null"}]},
            {"anyOf": [{"$ref": "RunStatus"}, {"type": "null"}], "description": "x"},
        ),
        (
            {"$ref": "RunId", "maxLength": 32},
            {"type": "string", "maxLength": 32, "pattern": "^run_[a-z0-9_]{1,60}$"},
        ),
        ({"type": "object", "additionalProperties": True}, {"type": "object"}),
    ],
)
def test_representations_that_mean_the_same_normalise_equal(
    contract: Document, published: Document
) -> None:
    assert normalise(contract, SIDE) == normalise(published, SIDE)


@pytest.mark.parametrize(
    ("contract", "published"),
    [
        ({"type": ["number", "null"]}, {"type": "number"}),
        ({"$ref": "RunStatus"}, {"type": "string", "enum": ["CREATED", "FAILED"]}),
        ({"type": "integer", "maximum": 1}, {"type": "integer", "exclusiveMaximum": 1}),
        ({"type": "string", "format": "date-time"}, {"type": "string"}),
        (
            {"type": "array", "items": {"$ref": "RunId"}},
            {"type": "array", "items": {"type": "string"}},
        ),
    ],
)
def test_representations_that_differ_normalise_differently(
    contract: Document, published: Document
) -> None:
    assert normalise(contract, SIDE) != normalise(published, SIDE)
