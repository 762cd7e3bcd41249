from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from simengine import api
from simengine.assetbase import AssetRejected
from simengine.errors import InvalidConfig
from simengine.imports.png import encode_png

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def decode_png(data: bytes) -> np.ndarray:
    """Enough of a PNG reader for what `encode_png` writes (RGB, filter 0)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        offset += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 3)


def test_png_round_trip() -> None:
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert (decode_png(encode_png(image)) == image).all()


def test_a_preview_shows_the_robot(tmp_path: Path) -> None:
    out = tmp_path / "preview.png"
    job = {"urdf": str(EXAMPLES / "simple_robot.urdf"), "out": str(out), "width": 64, "height": 48}
    assert api.render_preview(job) == {"width": 64, "height": 48, "bytes": out.stat().st_size}
    image = decode_png(out.read_bytes())
    assert image.shape == (48, 64, 3)
    background = image[0, 0]
    assert (image != background).any(axis=2).mean() > 0.05  # the robot fills part of it


@pytest.mark.parametrize("job", [{"width": 0}, {"height": 4096}, {"urdf": "robot.urdf"}])
def test_a_bad_preview_job(tmp_path: Path, job: dict[str, object]) -> None:
    base = {"urdf": str(EXAMPLES / "simple_robot.urdf"), "out": str(tmp_path / "p.png")}
    with pytest.raises(InvalidConfig):
        api.render_preview(base | job)


def test_a_preview_checks_the_urdf_first(tmp_path: Path) -> None:
    robot = tmp_path / "r.urdf"
    robot.write_text('<robot name="r"><link name="a"/><link name="b"/></robot>')
    with pytest.raises(AssetRejected, match="exactly one root link"):
        api.render_preview({"urdf": str(robot), "out": str(tmp_path / "p.png")})
    assert not (tmp_path / "p.png").exists()
