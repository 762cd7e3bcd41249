"""JSON-line logs, stdlib included, that never contain secrets."""

import io
import json
import logging

import structlog
from fastapi.testclient import TestClient

from handlers.kit.logging import configure_logging, log_access
from handlers.kit.redaction import MASK, is_sensitive_key, redact, scrub_text

QERS_KEY = "qers_0123456789abcdef_" + "Zk3yS3cr3t-" * 4
SECRETS = (
    "s3cr3t",
    "k3y-v4lue",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "w3bh00k-pl41n",
    "Zk3yS3cr3t",
)


def test_secrets_sent_to_the_app_never_reach_the_log(
    client: TestClient, log_stream: io.StringIO
) -> None:
    headers = {"Authorization": "Bearer s3cr3t", "X-API-Key": "k3y-v4lue"}
    ok = {"name": "w", "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    assert client.post("/v1/widgets", json=ok, headers={"X-API-Key": QERS_KEY}).status_code == 201
    structlog.get_logger("tests").info(f"client sent {QERS_KEY} in a note")
    invalid = {"name": "w" * 50, "webhook_secret": "w3bh00k-pl41n", "extra": 1}
    assert client.post("/v1/widgets", json=ok, headers=headers).status_code == 201
    assert client.post("/v1/widgets", json=invalid, headers=headers).status_code == 422
    assert client.get("/v1/crash", headers=headers).status_code == 500
    output = log_stream.getvalue()
    assert "creating widget" in output  # the careless handler did log headers and body
    assert "unhandled_exception" in output
    for secret in SECRETS:
        assert secret not in output


def test_lines_are_json_with_timestamp_level_and_event(log_stream: io.StringIO) -> None:
    structlog.get_logger("tests").warning("something odd", count=3)
    line = json.loads(log_stream.getvalue().splitlines()[-1])
    assert line["event"] == "something odd"
    assert line["level"] == "warning"
    assert line["count"] == 3
    assert line["logger"] == "tests"
    assert line["timestamp"].endswith("Z")


def test_stdlib_records_become_json_lines(log_stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("somelib").warning("token=abc123 refused")
    first, second = (json.loads(line) for line in log_stream.getvalue().splitlines()[-2:])
    assert first == first | {"event": "Started server process [42]", "level": "info"}
    assert first["logger"] == "uvicorn.error"
    assert second["event"] == f"token={MASK} refused"


def test_level_filters_structlog_and_access_lines() -> None:
    stream = io.StringIO()
    configure_logging("WARNING", stream=stream)
    try:
        structlog.get_logger("tests.level").info("hidden")
        log_access(method="GET", route="/x", status=200, duration_ms=1.0, request_id="abcdefgh")
        logging.getLogger("tests.level").info("hidden too")
        assert stream.getvalue() == ""
    finally:
        configure_logging("INFO")


def test_access_line_escapes_what_it_must(log_stream: io.StringIO) -> None:
    log_access(method='GE"T', route="/a\\b", status=None, duration_ms=0.5, request_id="abcdefgh")
    line = json.loads(log_stream.getvalue().splitlines()[-1])
    assert (line["method"], line["route"], line["status"]) == ('GE"T', "/a\\b", None)


def test_sensitive_keys_are_masked_at_any_depth() -> None:
    event = {
        "Authorization": "Bearer abc",
        "headers": {"x-api-key": "k", "accept": "*/*", "Cookie": "sid=1"},
        "body": {"options": {"webhook_secret": "w", "Password": "p"}, "items": [{"token": 1}]},
        "name": "fine",
    }
    assert redact(event) == {
        "Authorization": MASK,
        "headers": {"x-api-key": MASK, "accept": "*/*", "Cookie": MASK},
        "body": {"options": {"webhook_secret": MASK, "Password": MASK}, "items": [{"token": MASK}]},
        "name": "fine",
    }


def test_sensitive_key_names() -> None:
    for key in ("AUTHORIZATION", "X-Api-Key", "api_key", "client_secret", "refresh_token"):
        assert is_sensitive_key(key), key
    for key in ("name", "steps", "request_id", "route"):
        assert not is_sensitive_key(key), key


def test_credentials_inside_text_are_scrubbed() -> None:
    cases = {
        "failed with Authorization: Bearer abc.def": "failed with Authorization: " + MASK,
        "GET /x?token=t0k&a=1": f"GET /x?token={MASK}&a=1",
        "{'webhook_secret': 'w3b', 'n': 1}": f"{{'webhook_secret': '{MASK}', 'n': 1}}",
        "X-API-Key: k3y and more": f"X-API-Key: {MASK} and more",
        "redis://:pw@localhost:6379/0": f"redis://{MASK}@localhost:6379/0",
        "key whsec_abcDEF123+/= used": f"key {MASK} used",
        "nothing to see": "nothing to see",
    }
    for text, expected in cases.items():
        assert scrub_text(text) == expected


def test_qers_api_keys_are_scrubbed_from_text() -> None:
    assert scrub_text(f"saw {QERS_KEY}, rejected") == f"saw {MASK}, rejected"
    assert scrub_text(f"X-API-Key: {QERS_KEY}") == f"X-API-Key: {MASK}"
    assert redact({"note": [QERS_KEY]}) == {"note": [MASK]}
    assert scrub_text("claim qers_role and qers_projects") == "claim qers_role and qers_projects"
