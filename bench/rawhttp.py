"""A lean keep-alive HTTP/1.1 client connection for the load benches.

httpx spent 2 to 5 ms of CPU per request here, more as its pool grew to 200
connections: a load of 200 clients through it measured httpx, not the server. This
speaks just enough HTTP/1.1 (Content-Length and chunked bodies, `Connection: close`)
over asyncio streams, for about 0.2 ms per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

# What a failed exchange raises: OSError (refused, reset, TimeoutError), EOFError (closed
# early, IncompleteReadError), ValueError (not an HTTP/1.1 answer).
TransportError = (OSError, EOFError, ValueError)


class Connection:
    """One client's connection to `host:port`, opened on first use and after a close."""

    def __init__(
        self, host: str, port: int, *, headers: Mapping[str, str] | None = None, timeout_s: float
    ) -> None:
        self._host, self._port, self._timeout_s = host, port, timeout_s
        fixed = {"Host": f"{host}:{port}", **(headers or {})}
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Send one request and read its whole answer: (status, body). Raises one of
        `TransportError` when the connection fails or the answer takes longer than the
        timeout; the next request reconnects."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._exchange(method, path, body)
        except TransportError:
            self.close()
            raise

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def _exchange(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._reader, self._writer
        head = f"{method} {path} HTTP/1.1\r\n{self._fixed}"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise EOFError("the server closed the connection")
        version, _, rest = status_line.partition(b" ")
        if version != b"HTTP/1.1":
            raise ValueError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
        status = int(rest[:3])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value == b"chunked"
            elif name == b"connection":
                close = value == b"close"
        payload = await (_read_chunked(reader) if chunked else reader.readexactly(length))
        if close:
            self.close()
        return status, payload


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readline()  # the CRLF after each chunk
    while (await reader.readline()) not in (b"\r\n", b""):  # trailers
        pass
    return b"".join(parts)
