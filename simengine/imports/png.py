"""A minimal PNG writer (8-bit RGB, no filtering), so that previews need no imaging library."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode_png(rgb: npt.NDArray[np.uint8]) -> bytes:
    """PNG bytes of an (height, width, 3) uint8 image."""
    height, width, channels = rgb.shape
    if channels != 3:
        raise ValueError("expected an RGB image")
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def write_png(path: Path, rgb: npt.NDArray[np.uint8]) -> int:
    """Write `rgb` as a PNG file; return its size in bytes."""
    data = encode_png(rgb)
    path.write_bytes(data)
    return len(data)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
