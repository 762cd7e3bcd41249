"""OWASP API7:2023 Server Side Request Forgery, tried for real.

The one URL a client gives QERS is a run's webhook (`options.webhook_url`, `webhook_url` of a
sim job); the SSRF guard (handlers/webhooks/urlguard.py) refuses it at creation with a 422
naming the field when it points at loopback, private, link-local, metadata or otherwise
non-public addresses, however they are spelt, or uses another scheme; nothing is stored. A
receiver the operator allowed that answers with a redirect is not followed. The server
files a client may name (`source_path`, `urdf_path`) stay inside the import root: `..`,
absolute paths and symlinks out are a 422 naming the field. The planner's URL is the
operator's: no request of the contract carries a URL but the webhook's.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import handlers.assets.service
import handlers.runs.request
from handlers.app import create_app
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings
from tests.handlers.queued import wait_for
from tests.handlers.webhooks.test_delivery import Receiver, _serve
from tests.security.test_api1_object_level_authorisation import _contract

INTERNAL = [
    "http://127.0.0.1/hook",
    "http://127.0.0.2:6379/",
    "http://localhost:8000/admin",
    "http://LocalHost/hook",
    "http://localhost./hook",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://0.0.0.0:8000/hook",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://0x7f000001/hook",
    "http://017700000001/hook",
    "http://127.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "dict://127.0.0.1:11211/stats",
    "ftp://ftp.example.com/hook",
    "http://user:password@example.com/hook",
    "http://example.com@127.0.0.1/hook",
    "https://127.0.0.1:0/hook",
]
CREATES = {
    "createRun": ("/v1/runs", "/options/webhook_url"),
    "startSimRun": ("/api/sim/run", "/webhook_url"),
}


def _with_hook(name: str, url: str) -> dict[str, Any]:
    if name == "createRun":
        return {"scenario": "drop_test", "options": {"steps": 10, "webhook_url": url}}
    return {"scenario": "drop_test", "steps": 10, "webhook_url": url}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(runs_dir=tmp_path_factory.mktemp("api7"), warm_spares=0)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _runs(client: TestClient) -> int:
    return len(client.get("/v1/runs?limit=1000").json()["items"])


@pytest.mark.parametrize("name", sorted(CREATES))
@pytest.mark.parametrize("url", INTERNAL)
def test_webhooks_to_internal_or_odd_urls_are_refused(
    client: TestClient, name: str, url: str
) -> None:
    path, pointer = CREATES[name]
    answer = client.post(path, json=_with_hook(name, url))
    assert answer.status_code == 422, answer.text
    assert [error["pointer"] for error in answer.json()["errors"]] == [pointer]
    assert _runs(client) == 0


def test_a_refusal_does_not_say_what_a_name_resolves_to(client: TestClient) -> None:
    answer = client.post("/v1/runs", json=_with_hook("createRun", "http://localhost/hook"))
    assert answer.status_code == 422
    assert "127.0.0.1" not in answer.text


@pytest.fixture
def redirector(tmp_path: Path) -> Iterator[tuple[TestClient, Receiver]]:
    """An app that allows 127.0.0.1, and a receiver there that answers 302 to /elsewhere."""
    settings = Settings(
        runs_dir=tmp_path,
        warm_spares=0,
        webhook_allow_hosts=["127.0.0.1"],
        webhook_retry_delays_s=[0.05],
        webhook_timeout_s=5,
    )
    for receiver in _serve(Receiver(statuses=[302, 302])):
        with TestClient(create_app(settings)) as client:
            yield client, receiver


def test_a_redirecting_receiver_is_not_followed(
    redirector: tuple[TestClient, Receiver],
) -> None:
    client, receiver = redirector
    created = client.post("/v1/runs", json=_with_hook("createRun", receiver.url("/hook")))
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]

    def both_attempts() -> list[dict[str, Any]] | None:
        deliveries: list[dict[str, Any]] = client.get(f"/v1/runs/{run_id}").json()["webhook"][
            "deliveries"
        ]
        return deliveries if len(deliveries) == 2 else None

    deliveries = wait_for(both_attempts, timeout_s=30, what="two delivery attempts")
    assert [d["status_code"] for d in deliveries] == [302, 302]
    assert not any(d["succeeded"] for d in deliveries)
    assert [request.path for request in receiver.received] == ["/hook", "/hook"]


SOURCE_PATHS = [
    "../../etc/passwd",
    "/etc/passwd",
    "examples/../../../etc/passwd",
    "examples/./design/arm.obj",
    "examples//design/arm.obj",
    "examples\\..\\..\\etc\\passwd",
    "examples/%2e%2e/%2e%2e/etc/passwd",
    "~/.ssh/id_rsa",
    "runs/.keys.sqlite3",
    "handlers/settings.py",
    "examples/.hidden",
    "examples",
]


@pytest.mark.parametrize("source_path", SOURCE_PATHS)
def test_import_paths_outside_the_root_are_refused(client: TestClient, source_path: str) -> None:
    body = {"source_path": source_path, "name": "stolen"}
    answer = client.post("/api/assets/import-path", json=body)
    assert answer.status_code == 422, answer.text
    assert [error["pointer"] for error in answer.json()["errors"]] == ["/source_path"]
    assert client.get("/api/assets").json()["items"] == []


@pytest.fixture
def root_with_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An import root `examples/` holding a real mesh and a URDF, and symlinks to copies of
    them outside the root (a file link and a folder link)."""
    root, outside = tmp_path / "examples", tmp_path / "outside"
    shutil.copytree(EXAMPLES_DIR, root, symlinks=True)
    shutil.copytree(EXAMPLES_DIR, outside, symlinks=True)
    (root / "escape.obj").symlink_to(outside / "design" / "arm.obj")
    (root / "escape.urdf").symlink_to(outside / "simple_robot.urdf")
    (root / "elsewhere").symlink_to(outside)
    monkeypatch.setattr(handlers.assets.service, "EXAMPLES_DIR", root)
    monkeypatch.setattr(handlers.runs.request, "EXAMPLES_DIR", root)
    return root


def test_symlinks_out_of_the_import_root_are_refused(
    client: TestClient, root_with_links: Path
) -> None:
    for source_path in ("examples/escape.obj", "examples/elsewhere/design/arm.obj"):
        body = {"source_path": source_path, "name": "stolen"}
        answer = client.post("/api/assets/import-path", json=body)
        assert answer.status_code == 422, answer.text
        assert [error["pointer"] for error in answer.json()["errors"]] == ["/source_path"]
    assert client.get("/api/assets").json()["items"] == []
    inside = {"source_path": "examples/design/arm.obj", "name": "fine"}
    assert client.post("/api/assets/import-path", json=inside).status_code == 201


def test_urdf_symlinks_out_of_the_import_root_are_refused(
    client: TestClient, root_with_links: Path
) -> None:
    before = _runs(client)
    for label in ("examples/escape.urdf", "examples/elsewhere/simple_robot.urdf"):
        body = {"scenario": "urdf_rollout", "config": {"urdf_path": label}}
        answer = client.post("/v1/runs", json={**body, "options": {"steps": 10}})
        assert answer.status_code == 422, answer.text
        assert [error["pointer"] for error in answer.json()["errors"]] == ["/config/urdf_path"]
    assert _runs(client) == before
    inside = {"scenario": "urdf_rollout", "config": {"urdf_path": "examples/simple_robot.urdf"}}
    assert client.post("/v1/runs", json={**inside, "options": {"steps": 10}}).status_code == 201


_URLISH = re.compile(r"url|uri|href|endpoint|host|callback|address", re.I)


def _fields(schema: Any, components: dict[str, Any], seen: set[str]) -> Iterator[tuple[str, Any]]:
    """(name, schema) of every property reachable from `schema`."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                yield from _fields(components[name], components, seen)
            return
        for key, sub in schema.get("properties", {}).items():
            yield key, sub
            yield from _fields(sub, components, seen)
        for key, value in schema.items():
            if key != "properties":
                yield from _fields(value, components, seen)
    elif isinstance(schema, list):
        for item in schema:
            yield from _fields(item, components, seen)


def _looks_like_url(schema: Any, components: dict[str, Any]) -> bool:
    """A string schema whose format, pattern or examples are URLs."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(schema, dict) or schema.get("type") != "string":
        return False
    examples = [str(example) for example in schema.get("examples", [])]
    return (
        schema.get("format") in ("uri", "url", "iri", "uri-reference")
        or "://" in schema.get("pattern", "")
        or any("://" in example for example in examples)
    )


def test_no_request_carries_a_url_but_the_webhooks() -> None:
    document = _contract()
    components = document["components"]["schemas"]
    found = set()
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if _URLISH.search(parameter["name"]) or _looks_like_url(
                    parameter["schema"], components
                ):
                    found.add(parameter["name"])
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for name, schema in _fields(media["schema"], components, set()):
                    if _URLISH.search(name) or _looks_like_url(schema, components):
                        found.add(name)
    assert found == {"webhook_url"}
