"""A small keep-alive HTTP/1.1 load generator, run in its own process by the benches.

Usage: python -m bench.loadgen HOST PORT PATH SECONDS CONNECTIONS
Prints one JSON line: {"requests": N, "errors": E, "seconds": S, "rps": R}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def _worker(host: str, port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            await reader.readexactly(length)
            if status_line.split(b" ", 2)[1:2] == [b"200"]:
                counts[0] += 1
            else:
                counts[1] += 1
    finally:
        writer.close()


async def _run(
    host: str, port: int, path: str, seconds: float, connections: int
) -> dict[str, float]:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    counts = [0, 0]
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_worker(host, port, request, deadline, counts) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    return {
        "requests": counts[0],
        "errors": counts[1],
        "seconds": round(elapsed, 3),
        "rps": round(counts[0] / elapsed, 1),
    }


def main() -> None:
    host, port, path, seconds, connections = sys.argv[1:6]
    result = asyncio.run(_run(host, int(port), path, float(seconds), int(connections)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
