"""A real chat-completions server on 127.0.0.1: records requests, answers as told.

with Loopback() as llm:
    llm.content = '{"steps": []}'
    ... LlmPlanner(url=llm.url, ...) ...
    llm.requests[0].body["messages"]
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None


class Loopback:
    """Answers every POST with `content` wrapped as a chat completion, unless told otherwise:
    `status` (the code), `raw` (these bytes as the whole body), `document` (this JSON as the
    whole body), `delay_s` (wait before answering), `trickle_s` (wait before each byte of
    the body), `headers` (sent as well)."""

    def __init__(self) -> None:
        self.content = "{}"
        self.status = 200
        self.raw: bytes | None = None
        self.document: Any = None
        self.delay_s = 0.0
        self.trickle_s = 0.0
        self.headers: dict[str, str] = {}
        self.requests: list[Recorded] = []
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        document = self.document
        if document is None:
            message = {"role": "assistant", "content": self.content}
            document = {"id": "cmpl-1", "choices": [{"index": 0, "message": message}]}
        return json.dumps(document).encode()

    def wait(self, seconds: float) -> None:
        """Sleep, cut short when the server closes."""
        self._closing.wait(seconds)

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.02)  # a quick shutdown

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(loopback: Loopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            try:
                body = json.loads(data)
            except ValueError:
                body = None
            headers = {name.lower(): value for name, value in self.headers.items()}
            loopback.requests.append(Recorded("POST", self.path, headers, body))
            loopback.wait(loopback.delay_s)
            answer = loopback.body()
            try:
                self.send_response(loopback.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                for name, value in loopback.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not loopback.trickle_s:
                    self.wfile.write(answer)
                for index in range(len(answer) if loopback.trickle_s else 0):
                    self.wfile.write(answer[index : index + 1])
                    self.wfile.flush()
                    loopback.wait(loopback.trickle_s)
            except OSError:
                pass  # the client gave up waiting (the timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows stderr of failed tests

    return Handler


def closed_port_url() -> str:
    """A base URL on a port where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
