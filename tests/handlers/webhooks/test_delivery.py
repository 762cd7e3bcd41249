"""Webhook events and their delivery, against a real HTTP(S) receiver on 127.0.0.1."""

# Seeded `random.Random` drives retry jitter here, not cryptography.
# ruff: noqa: S311

import base64
import datetime as dt
import json
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook

from handlers.kit.contracts import ContractRegistry
from handlers.settings import Settings
from handlers.webhooks import urlguard
from handlers.webhooks.delivery import (
    WebhookPolicy,
    deliver_once,
    deliver_with_retries,
    next_delay,
)
from handlers.webhooks.events import (
    build_event,
    encode_event,
    event_for,
    new_message_id,
    new_secret,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "contracts" / "schemas"
SECRET_PATTERN = re.compile(r"^whsec_[A-Za-z0-9+/]{32,86}={0,2}$")
MESSAGE_ID_PATTERN = re.compile(r"^msg_[A-Za-z0-9]{1,60}$")
TINY = WebhookPolicy(timeout_s=2.0, retry_delays_s=(0.01, 0.02, 0.04), allow_hosts=("127.0.0.1",))


@pytest.fixture(scope="module")
def contracts() -> ContractRegistry:
    return ContractRegistry()


def finished_run(status: str) -> dict[str, Any]:
    """The contract's example run, ended with `status`, with a webhook secret set."""
    run: dict[str, Any] = json.loads((SCHEMAS / "Run.schema.json").read_text())["examples"][1]
    run["status"] = status
    if status != "FAILED":
        run["failure_code"] = run["failure_reason"] = None
    run["webhook"]["secret"] = new_secret()
    return run


# --- A scripted receiver ---------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers POSTs with scripted statuses (then 200), optionally after a delay."""

    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hook", *, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver  # set on a subclass per server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.receiver.received.append(Received(self.path, headers, body))
        status = self.receiver.statuses.pop(0) if self.receiver.statuses else 200
        time.sleep(self.receiver.delay_s)
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", self.receiver.url("/elsewhere"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout test) leaves a broken pipe: expected


def _serve(receiver: Receiver, tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    handler = type("Handler", (_Handler,), {"receiver": receiver})
    server = _Server(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def verify(secret: str, request: Received) -> Any:
    return Webhook(secret).verify(request.body, request.headers)


class Recorder:
    """A `record` callback keeping copies of what it was given."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []

    def __call__(self, delivery: dict[str, Any]) -> None:
        self.deliveries.append(dict(delivery))


# --- Secrets, ids, events ----------------------------------------------------------------


def test_new_secret_matches_the_contract_and_signs() -> None:
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert SECRET_PATTERN.match(secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    Webhook(secret).sign("msg_1", dt.datetime.now(dt.UTC), "{}")


def test_new_message_id_matches_the_contract() -> None:
    ids = {new_message_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(MESSAGE_ID_PATTERN.match(message_id) for message_id in ids)


@pytest.mark.parametrize(
    ("status", "event"),
    [("SUCCEEDED", "run.completed"), ("FAILED", "run.failed"), ("CANCELLED", "run.cancelled")],
)
def test_build_event_matches_the_contract(
    status: str, event: str, contracts: ContractRegistry
) -> None:
    run = finished_run(status)
    secret = run["webhook"]["secret"]
    document = build_event(run)
    assert document["event"] == event_for(status) == event
    assert document["run_id"] == run["id"]
    assert document["timestamp"] == run["finished_at"]
    assert document["payload"]["webhook"]["secret"] is None
    assert run["webhook"]["secret"] == secret  # the caller's run is not changed
    assert secret not in encode_event(document).decode()
    assert contracts.errors("WebhookEvent", json.loads(encode_event(document))) == []


def test_build_event_without_webhook(contracts: ContractRegistry) -> None:
    run = finished_run("SUCCEEDED")
    run["webhook"] = None
    assert contracts.errors("WebhookEvent", build_event(run)) == []


@pytest.mark.parametrize("status", ["QUEUED", "RUNNING", "nonsense"])
def test_no_event_for_a_run_that_has_not_ended(status: str) -> None:
    with pytest.raises(ValueError, match="not final"):
        build_event(finished_run(status))


def test_build_event_rejects_a_run_off_contract() -> None:
    run = finished_run("SUCCEEDED")
    run["finished_at"] = None
    with pytest.raises(ValueError, match="timestamp"):
        build_event(run)


def test_encode_event_is_compact_json() -> None:
    assert encode_event({"a": [1, 2], "b": "é"}) == '{"a":[1,2],"b":"é"}'.encode()


# --- Policy and backoff ------------------------------------------------------------------


def test_policy_from_settings() -> None:
    settings = Settings(
        webhook_timeout_s=3.0,
        webhook_retry_delays_s="0.5, 2",
        webhook_retry_jitter=0.1,
        webhook_allow_hosts="127.0.0.1,hooks.test",
    )
    assert WebhookPolicy.from_settings(settings) == WebhookPolicy(
        timeout_s=3.0,
        retry_delays_s=(0.5, 2.0),
        jitter=0.1,
        allow_hosts=("127.0.0.1", "hooks.test"),
    )
    assert WebhookPolicy.from_settings(Settings()) == WebhookPolicy()


@pytest.mark.parametrize(("retry", "base"), [(1, 1.0), (2, 4.0), (3, 16.0)])
def test_next_delay_is_jittered_around_the_base(retry: int, base: float) -> None:
    policy = WebhookPolicy()
    rng = random.Random(7)
    delays = [next_delay(retry, policy, rng) for _ in range(200)]
    assert all(d is not None and base * 0.75 <= d <= base * 1.25 for d in delays)
    assert len(set(delays)) > 100  # actually jittered


@pytest.mark.parametrize("retry", [0, 4, 10])
def test_no_delay_past_the_last_retry(retry: int) -> None:
    assert next_delay(retry, WebhookPolicy(), random.Random(1)) is None


def test_next_delay_is_seeded_and_exact_without_jitter() -> None:
    policy = WebhookPolicy()
    first = [next_delay(n, policy, random.Random(3)) for n in (1, 2, 3)]
    assert first == [next_delay(n, policy, random.Random(3)) for n in (1, 2, 3)]
    exact = WebhookPolicy(jitter=0.0)
    assert [next_delay(n, exact, random.Random(3)) for n in (1, 2, 3)] == [1.0, 4.0, 16.0]


# --- Delivery ----------------------------------------------------------------------------


def test_success_on_first_attempt(receiver: Receiver, contracts: ContractRegistry) -> None:
    secret, message_id = new_secret(), new_message_id()
    event = build_event(finished_run("SUCCEEDED"))
    recorder, sleeps = Recorder(), list[float]()
    deliveries = deliver_with_retries(
        url=receiver.url(),
        secret=secret,
        message_id=message_id,
        event_doc=event,
        policy=TINY,
        record=recorder,
        sleep=sleeps.append,
    )
    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert verify(secret, request) == event
    assert request.body == encode_event(event)
    assert request.path == "/hook"
    assert request.headers["webhook-id"] == message_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    [delivery] = deliveries
    assert delivery["attempt"] == 1
    assert delivery["event"] == "run.completed"
    assert delivery["status_code"] == 200
    assert delivery["error"] is None
    assert delivery["succeeded"] is True
    assert delivery["next_attempt_at"] is None
    assert delivery["attempted_at"].endswith("Z")
    assert contracts.errors("WebhookDelivery", delivery) == []
    assert recorder.deliveries == deliveries
    assert sleeps == []


def test_500_then_200_retries_with_the_same_id(
    receiver: Receiver, contracts: ContractRegistry
) -> None:
    receiver.statuses = [500]
    secret, message_id = new_secret(), new_message_id()
    event = build_event(finished_run("FAILED"))
    recorder = Recorder()
    deliveries = deliver_with_retries(
        url=receiver.url(),
        secret=secret,
        message_id=message_id,
        event_doc=event,
        policy=TINY,
        record=recorder,
    )
    assert [d["status_code"] for d in deliveries] == [500, 200]
    assert [d["succeeded"] for d in deliveries] == [False, True]
    assert [d["attempt"] for d in deliveries] == [1, 2]
    assert [r.headers["webhook-id"] for r in receiver.received] == [message_id] * 2
    assert all(verify(secret, r) == event for r in receiver.received)
    retry_at = dt.datetime.fromisoformat(deliveries[0]["next_attempt_at"])
    assert retry_at >= dt.datetime.fromisoformat(deliveries[0]["attempted_at"])
    assert deliveries[1]["next_attempt_at"] is None
    assert recorder.deliveries == deliveries
    assert all(contracts.errors("WebhookDelivery", d) == [] for d in deliveries)


def test_retries_run_out(receiver: Receiver) -> None:
    receiver.statuses = [503] * 10
    sleeps: list[float] = []
    deliveries = deliver_with_retries(
        url=receiver.url(),
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("CANCELLED")),
        policy=TINY,
        record=Recorder(),
        sleep=sleeps.append,
        rng=random.Random(5),
    )
    assert [d["attempt"] for d in deliveries] == [1, 2, 3, 4]
    assert [d["next_attempt_at"] is None for d in deliveries] == [False, False, False, True]
    expected = [next_delay(n, TINY, rng) for rng in [random.Random(5)] for n in (1, 2, 3)]
    assert sleeps == expected
    assert len(receiver.received) == 4


def test_410_stops_retries(receiver: Receiver) -> None:
    receiver.statuses = [410]
    deliveries = deliver_with_retries(
        url=receiver.url(),
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        policy=TINY,
        record=Recorder(),
    )
    [delivery] = deliveries
    assert delivery["status_code"] == 410
    assert delivery["succeeded"] is False
    assert delivery["next_attempt_at"] is None
    assert len(receiver.received) == 1


def test_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.statuses = [302] * 10
    deliveries = deliver_with_retries(
        url=receiver.url(),
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        policy=TINY,
        record=Recorder(),
    )
    assert [d["status_code"] for d in deliveries] == [302] * 4
    assert not any(d["succeeded"] for d in deliveries)
    assert [r.path for r in receiver.received] == ["/hook"] * 4


def test_timeout_is_a_failed_attempt(receiver: Receiver) -> None:
    receiver.delay_s = 1.0
    policy = WebhookPolicy(timeout_s=0.3, retry_delays_s=(), allow_hosts=("127.0.0.1",))
    delivery = deliver_once(
        url=receiver.url(),
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        attempt=1,
        policy=policy,
    )
    assert delivery["status_code"] is None
    assert delivery["error"] == "timeout after 0.3 s"
    assert delivery["succeeded"] is False


def test_connection_refused_is_a_failed_attempt(contracts: ContractRegistry) -> None:
    delivery = deliver_once(
        url=f"http://127.0.0.1:{free_port()}/hook",
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        attempt=3,
        policy=TINY,
    )
    assert delivery["error"] == "connection refused"
    assert delivery["status_code"] is None
    assert delivery["attempt"] == 3
    assert contracts.errors("WebhookDelivery", delivery) == []


def test_refused_address_is_recorded_not_sent(receiver: Receiver) -> None:
    policy = WebhookPolicy(retry_delays_s=(0.0,))
    deliveries = deliver_with_retries(
        url=receiver.url(),
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        policy=policy,
        record=Recorder(),
    )
    assert [d["error"] for d in deliveries] == ["refused address 127.0.0.1 (loopback)"] * 2
    assert receiver.received == []
    delivery = deliver_once(
        url="http://10.0.0.5/hook",
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        attempt=1,
        policy=policy,
    )
    assert delivery["error"] == "refused address 10.0.0.5 (private)"


def test_connects_to_the_resolved_address_with_the_original_host(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `.test` names never resolve: the request can only arrive if it went to the pinned IP.
    monkeypatch.setattr(urlguard, "resolve_host", lambda host, port: ["127.0.0.1"])
    secret = new_secret()
    delivery = deliver_once(
        url=receiver.url("/in?x=1", host="hooks.test"),
        secret=secret,
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        attempt=1,
        policy=WebhookPolicy(allow_hosts=("hooks.test",)),
    )
    assert delivery["succeeded"] is True
    [request] = receiver.received
    assert request.headers["host"] == f"hooks.test:{receiver.port}"
    assert request.path == "/in?x=1"
    verify(secret, request)


def test_allow_listed_localhost_keeps_its_host_header(receiver: Receiver) -> None:
    delivery = deliver_once(
        url=receiver.url(host="localhost"),
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        attempt=1,
        policy=WebhookPolicy(allow_hosts=("localhost",)),
    )
    assert delivery["succeeded"] is True
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"


def test_falls_back_to_the_next_vetted_address(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    unused = "127.0.0.57"  # nothing listens there on the receiver's port
    monkeypatch.setattr(urlguard, "resolve_host", lambda host, port: [unused, "127.0.0.1"])
    with socket.socket() as probe:
        if probe.connect_ex((unused, receiver.port)) == 0:
            pytest.skip(f"something listens on {unused}:{receiver.port}")
    delivery = deliver_once(
        url=receiver.url(host="hooks.test"),
        secret=new_secret(),
        message_id=new_message_id(),
        event_doc=build_event(finished_run("SUCCEEDED")),
        attempt=1,
        policy=WebhookPolicy(allow_hosts=("hooks.test",)),
    )
    assert delivery["succeeded"] is True


# --- HTTPS: the pinned address with the URL's name for SNI and certificate checks ----------


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return Tls(server, client)


def test_https_sends_the_original_name_as_sni(tls: Tls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urlguard, "resolve_host", lambda host, port: ["127.0.0.1"])
    receiver = Receiver()
    server_names: list[str | None] = []
    tls.server.sni_callback = lambda sock, name, ctx: server_names.append(name)
    secret = new_secret()
    for running in _serve(receiver, tls.server):
        delivery = deliver_once(
            url=running.url(host="hooks.test", scheme="https"),
            secret=secret,
            message_id=new_message_id(),
            event_doc=build_event(finished_run("SUCCEEDED")),
            attempt=1,
            policy=WebhookPolicy(allow_hosts=("hooks.test",), tls_verify=tls.client),
        )
    assert delivery["succeeded"] is True, delivery["error"]
    assert server_names == ["hooks.test"]
    assert receiver.received[0].headers["host"] == f"hooks.test:{receiver.port}"
    verify(secret, receiver.received[0])


def test_https_certificate_is_checked_against_the_url_name(
    tls: Tls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(urlguard, "resolve_host", lambda host, port: ["127.0.0.1"])
    receiver = Receiver()
    for running in _serve(receiver, tls.server):
        delivery = deliver_once(
            url=running.url(host="other.test", scheme="https"),
            secret=new_secret(),
            message_id=new_message_id(),
            event_doc=build_event(finished_run("SUCCEEDED")),
            attempt=1,
            policy=WebhookPolicy(allow_hosts=("other.test",), tls_verify=tls.client),
        )
    assert delivery["succeeded"] is False
    assert delivery["error"] is not None
    assert delivery["error"].startswith("TLS certificate rejected")
    assert "other.test" in delivery["error"]
    assert receiver.received == []
