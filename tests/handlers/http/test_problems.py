"""Every error the app can emit is an RFC 9457 problem document."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.errors import PROBLEM_TYPE_BASE
from handlers.http.problems import PROBLEM_MEDIA_TYPE, field_errors
from tests.handlers.conftest import MAX_BODY_BYTES

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id", "errors"}


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem: dict[str, Any] = response.json()
    assert set(problem) == PROBLEM_KEYS
    assert problem["type"] == PROBLEM_TYPE_BASE + slug
    assert problem["status"] == status
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


def test_validation_lists_one_entry_per_failing_field(client: TestClient) -> None:
    body = {"options": {"steps": 0, "tags": ["a", 1], "bogus": True}, "extra": 1}
    response = client.post("/v1/widgets", json=body)
    problem = assert_problem(response, 422, "validation")
    assert problem["instance"] == "/v1/widgets"
    assert {(e["location"], e["pointer"]) for e in problem["errors"]} == {
        ("body", "/name"),
        ("body", "/options/steps"),
        ("body", "/options/tags/1"),
        ("body", "/options/bogus"),
        ("body", "/extra"),
    }
    assert all(e["reason"] for e in problem["errors"])
    assert problem["detail"] == "5 fields are invalid."


def test_parameters_are_pointed_at_by_name(client: TestClient) -> None:
    response = client.get("/v1/widgets/abc", params={"limit": 9})
    problem = assert_problem(response, 422, "validation")
    assert [(e["location"], e["pointer"]) for e in problem["errors"]] == [
        ("path", "/widget_id"),
        ("query", "/limit"),
    ]
    response = client.post(
        "/v1/widgets", json={"name": "a"}, headers={"Idempotency-Key": "much-too-long-key"}
    )
    problem = assert_problem(response, 422, "validation")
    assert [(e["location"], e["pointer"]) for e in problem["errors"]] == [
        ("header", "/Idempotency-Key")
    ]


def test_a_body_that_is_not_an_object_points_at_the_whole_body(client: TestClient) -> None:
    problem = assert_problem(client.post("/v1/widgets", json=[1]), 422, "validation")
    assert [e["pointer"] for e in problem["errors"]] == [""]


def test_invalid_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/widgets", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 400, "malformed-request")
    assert problem["detail"].startswith("Request body is not valid JSON")
    assert problem["errors"] == []


def test_a_body_that_is_not_utf8_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/widgets", content=b'{"name": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 400, "malformed-request")
    assert "UTF-8" in problem["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/v1/widgets", content=b'{"name": "a"}', headers={"content-type": content_type}
    )
    problem = assert_problem(response, 415, "unsupported-media-type")
    assert "application/json" in problem["detail"]


def test_json_with_a_suffix_media_type_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/v1/widgets", content=b'{"name": "a"}', headers={"content-type": "application/merge+json"}
    )
    assert response.status_code == 201


def test_unknown_path_is_404(client: TestClient) -> None:
    problem = assert_problem(client.get("/v1/nothing-here"), 404, "not-found")
    assert problem["instance"] == "/v1/nothing-here"
    assert "GET /v1/nothing-here" in problem["detail"]


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.delete("/v1/widgets")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    body = {"name": "a", "webhook_secret": "x" * MAX_BODY_BYTES}
    problem = assert_problem(client.post("/v1/widgets", json=body), 413, "payload-too-large")
    assert str(MAX_BODY_BYTES) in problem["detail"]


def test_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "a", "webhook_secret": "'
        for _ in range(MAX_BODY_BYTES // 256 + 1):
            yield b"x" * 256
        yield b'"}'

    response = client.post(
        "/v1/widgets", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload-too-large")


def test_streamed_body_under_the_limit_passes(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": '
        yield b'"a"}'

    response = client.post(
        "/v1/widgets", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201


def test_unexpected_exception_is_500_without_internals(client: TestClient) -> None:
    response = client.get("/v1/crash")
    problem = assert_problem(response, 500, "internal")
    text = response.text
    assert "boom" not in text
    assert "Traceback" not in text
    assert "/srv/" not in text
    assert "handlers/" not in text
    assert problem["detail"].startswith("An unexpected error occurred")


@pytest.mark.parametrize(
    ("path", "status", "slug"),
    [
        ("/v1/todo", 501, "not-implemented"),
        ("/v1/busy", 503, "unavailable"),
        ("/v1/conflict", 409, "conflict"),
    ],
)
def test_domain_errors_map_to_their_status(
    client: TestClient, path: str, status: int, slug: str
) -> None:
    assert_problem(client.get(path), status, slug)


def test_not_implemented_names_the_operation(client: TestClient) -> None:
    problem = client.get("/v1/todo").json()
    assert problem["detail"] == "Operation 'createRun' is not implemented yet; see docs/status.md"


def test_service_unavailable_says_when_to_retry(client: TestClient) -> None:
    assert client.get("/v1/busy").headers["retry-after"] == "7"


def test_field_errors_skip_union_member_tags() -> None:
    body = {"shape": {"kind": 3}}
    errors = [
        {"loc": ("body", "shape", "Circle", "kind"), "msg": "Input should be a valid string"},
        {"loc": ("body", "shape", "Square", "size"), "msg": "Field required"},
        {"loc": ("body", "shape", "Square", "kind"), "msg": "Extra inputs are not permitted"},
    ]
    assert [(e["pointer"], e["reason"]) for e in field_errors(errors, body)] == [
        ("/shape/kind", "Input should be a valid string"),
        ("/shape/size", "Field required"),
        ("/shape/kind", "Extra inputs are not permitted"),
    ]


def test_field_error_pointers_escape_special_characters() -> None:
    body = {"a/b": {"c~d": 1}}
    errors = [{"loc": ("body", "a/b", "c~d"), "msg": "bad"}]
    assert field_errors(errors, body)[0]["pointer"] == "/a~1b/c~0d"


def test_problems_validate_against_the_problem_contract(client: TestClient) -> None:
    from handlers.kit.contracts import ContractRegistry

    registry = ContractRegistry()
    if "Problem" not in registry.names():
        pytest.skip("contracts/schemas/Problem.schema.json not present")
    responses = [
        client.post("/v1/widgets", json={"options": {"steps": 0}}),
        client.post("/v1/widgets", content=b"{", headers={"content-type": "application/json"}),
        client.post("/v1/widgets", content=b"{}", headers={"content-type": "text/plain"}),
        client.get("/nowhere"),
        client.delete("/v1/widgets"),
        client.get("/v1/crash"),
        client.get("/v1/todo"),
        client.get("/v1/busy"),
        client.post("/v1/widgets", json={"name": "a", "webhook_secret": "x" * 4096}),
    ]
    for response in responses:
        assert registry.errors("Problem", response.json()) == [], response.text
