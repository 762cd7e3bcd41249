"""A minimal npz (zip) writer: DEFLATE for short replays, LZMA tuned for float32 series.

The codec of an archive follows from its uncompressed size alone, so equal arrays give
equal bytes in any process, with or without compression threads.

- Under `LZMA_FROM_BYTES` (a short run: under ~340 steps of the 12-DoF quadruped, ~450
  of r2d2) every member is DEFLATE at zlib level 1, compressed inline. LZMA costs
  ~150 us per member to encode and ~15 us to decode before the first byte, ten members
  a replay, plus the hand-off to its threads (and their start in a fresh child): a
  50-step replay took 0.85-1.9 ms to encode, with DEFLATE 0.25-0.5 ms. Higher zlib
  levels gave the same bytes (within 0.1%), slower. A byte-shuffle or delta filter
  would shrink float32 series more, but a zip member carries none (the npz must stay
  what `numpy.load` reads).
- From it on, the bytes matter (<= 250 B/step for the 12-DoF replay) and LZMA writes
  ~17% fewer than DEFLATE. `zipfile` compresses LZMA members with the default preset: an
  8 MiB dictionary whose match finder (~90 MiB) is allocated and zeroed per member, and
  literal coding tuned for text. Here each member gets a dictionary just large enough
  for it and `lp=2, pb=2, lc=0` (positions aligned on the float's bytes): ~5x faster and
  ~5% smaller, on `COMPRESS_THREADS` threads.

The archive is an ordinary zip (methods 8 and 14, the framing `zipfile` reads), so
`numpy.load` opens it as is.
"""

from __future__ import annotations

import lzma
import os
import struct
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple


class _Method(NamedTuple):
    number: int  # APPNOTE compression method
    version_needed: int
    flags: int


_DEFLATE = _Method(8, 20, 0)
_LZMA = _Method(14, 63, 0x02)  # flag: the LZMA stream ends with an end-of-stream marker
_VERSION_MADE_BY = 63  # APPNOTE 6.3 (LZMA), MS-DOS attributes
_DOS_DATE_1980 = (1 << 5) | 1  # 1980-01-01: fixed, so equal arrays give equal bytes
_MAX_32 = 0xFFFFFFFF
_DEFLATE_LEVEL = 1
_LC, _LP, _PB = 0, 2, 2
_MIN_DICT = 1 << 12
LZMA_FROM_BYTES = 128 * 1024  # uncompressed bytes of all members
COMPRESS_THREADS = 2


def deflate_member(data: bytes) -> bytes:
    """`data` as a zip DEFLATE member: a raw deflate stream (no zlib header or trailer)."""
    compressor = zlib.compressobj(_DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def lzma_member(data: bytes) -> bytes:
    """`data` as a zip LZMA member: SDK version, properties size, properties, raw stream."""
    dict_size = max(_MIN_DICT, 1 << max(0, len(data) - 1).bit_length())
    lzma_filter = {
        "id": lzma.FILTER_LZMA1,
        "dict_size": dict_size,
        "lc": _LC,
        "lp": _LP,
        "pb": _PB,
        "mode": lzma.MODE_FAST,
        "mf": lzma.MF_HC3,
        "nice_len": 16,
    }
    props = struct.pack("<BI", (_PB * 5 + _LP) * 9 + _LC, dict_size)
    stream = lzma.compress(data, format=lzma.FORMAT_RAW, filters=[lzma_filter])
    return struct.pack("<BBH", 9, 4, len(props)) + props + stream


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """This process's compression threads (a forked child makes its own: threads do not
    survive a fork)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(COMPRESS_THREADS, "qers-npz"))
    return _POOL[1]


def shutdown_pool() -> None:
    """Stop the compression threads (the fork server, before it forks children)."""
    global _POOL
    if _POOL is not None:
        _POOL[1].shutdown(wait=True)
        _POOL = None


def _lzma_all(members: list[bytes]) -> list[bytes]:
    """`lzma_member` of each of `members`, in their order. liblzma releases the GIL, so they
    compress side by side; the largest starts first, or it could start last and leave the
    other thread idle while it runs (each member's bytes are the same either way)."""
    largest_first = sorted(range(len(members)), key=lambda i: len(members[i]), reverse=True)
    pending = {i: _pool().submit(lzma_member, members[i]) for i in largest_first}
    return [pending[i].result() for i in range(len(members))]


def _compress(members: list[bytes]) -> tuple[_Method, list[bytes]]:
    """The archive's method and its members compressed with it, in their order."""
    if sum(len(data) for data in members) < LZMA_FROM_BYTES:
        return _DEFLATE, [deflate_member(data) for data in members]
    return _LZMA, _lzma_all(members)


def write_zip(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip archive of (name, uncompressed bytes) members, in their order: all DEFLATE
    under `LZMA_FROM_BYTES` in total, else all LZMA.

    Raises:
        ValueError: a member or the archive needs ZIP64 (over 4 GiB).
    """
    out = bytearray()
    central = bytearray()
    count = 0
    listed = list(members)
    method, compressed = _compress([data for _, data in listed])
    for (name, data), packed in zip(listed, compressed, strict=True):
        encoded_name = name.encode("utf-8")
        crc = zlib.crc32(data)
        offset = len(out)
        if max(len(data), len(packed), offset) > _MAX_32:
            raise ValueError("replay too large for a zip without ZIP64")
        fields = (method.number, 0, _DOS_DATE_1980, crc, len(packed), len(data), len(encoded_name))
        out += struct.pack("<4sHH", b"PK\x03\x04", method.version_needed, method.flags)
        out += struct.pack("<HHHIIIHH", *fields, 0) + encoded_name + packed
        central += struct.pack(
            "<4sHHH", b"PK\x01\x02", _VERSION_MADE_BY, method.version_needed, method.flags
        )
        central += struct.pack("<HHHIIIHHHHHII", *fields, 0, 0, 0, 0, 0, offset) + encoded_name
        count += 1
    start = len(out)
    out += central
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), start, 0)
    return bytes(out)
