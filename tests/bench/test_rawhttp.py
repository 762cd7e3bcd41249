"""The load client's HTTP/1.1 connection against a tiny asyncio server with canned answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from bench.rawhttp import Connection, TransportError

T = TypeVar("T")
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"  # a chunk extension, then the last chunk
)
CLOSING = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
HANG_UP = b""  # close the connection instead of answering
SILENT = b"-"  # read the request, never answer


@dataclass
class Canned:
    """Answers in order, whatever the connection; what came in, and how many connections."""

    answers: list[bytes]
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    connections: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = [ln for ln in head.split(b"\r\n") if ln.startswith(b"Content-Length:")]
                self.bodies.append(
                    await reader.readexactly(int(length[0].split(b":")[1])) if length else b""
                )
                answer = self.answers.pop(0)
                if answer == SILENT:
                    await asyncio.sleep(10)
                if answer in (HANG_UP, SILENT):
                    break
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


def _exchange(
    answers: list[bytes], talk: Callable[[Connection], Awaitable[T]], *, timeout_s: float = 5
) -> tuple[T, Canned]:
    canned = Canned(answers)

    async def scenario() -> T:
        server = await asyncio.start_server(canned.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        connection = Connection("127.0.0.1", port, headers={"X-API-Key": "k"}, timeout_s=timeout_s)
        try:
            return await talk(connection)
        finally:
            connection.close()
            server.close()

    return asyncio.run(scenario()), canned


def test_keep_alive_sends_fixed_headers_and_reads_content_length_bodies() -> None:
    async def talk(connection: Connection) -> list[tuple[int, bytes]]:
        return [
            await connection.request("GET", "/a"),
            await connection.request("POST", "/b", b'{"x": 1}'),
        ]

    answers, canned = _exchange([OK, OK], talk)
    assert answers == [(200, b"ok"), (200, b"ok")]
    assert canned.connections == 1
    assert canned.heads[0].startswith(b"GET /a HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"X-API-Key: k\r\n" in canned.heads[0]
    assert b"Content-Length" not in canned.heads[0]
    assert b"Content-Length: 8\r\n" in canned.heads[1]
    assert canned.bodies[1] == b'{"x": 1}'


def test_a_chunked_body_is_joined() -> None:
    async def talk(connection: Connection) -> tuple[int, bytes]:
        return await connection.request("GET", "/")

    assert _exchange([CHUNKED], talk)[0] == (200, b"abcde")


def test_connection_close_makes_the_next_request_reconnect() -> None:
    async def talk(connection: Connection) -> list[tuple[int, bytes]]:
        return [await connection.request("GET", "/"), await connection.request("GET", "/")]

    answers, canned = _exchange([CLOSING, OK], talk)
    assert answers == [(503, b""), (200, b"ok")]
    assert canned.connections == 2


@pytest.mark.parametrize(("failure", "timeout_s"), [(HANG_UP, 5.0), (SILENT, 0.2)])
def test_a_hang_up_or_a_silent_server_is_a_transport_error_then_it_reconnects(
    failure: bytes, timeout_s: float
) -> None:
    async def talk(connection: Connection) -> tuple[str, tuple[int, bytes]]:
        with pytest.raises(TransportError) as raised:
            await connection.request("GET", "/")
        return type(raised.value).__name__, await connection.request("GET", "/")

    (error, answer), canned = _exchange([failure, OK], talk, timeout_s=timeout_s)
    assert error == ("EOFError" if failure == HANG_UP else "TimeoutError")
    assert answer == (200, b"ok")
    assert canned.connections == 2
