"""Fixtures built in code: zips (honest or with forged headers), meshes and small URDFs."""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MIB = 1024 * 1024


def write_zip(path: Path, files: Iterable[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    """A zip made by the standard library (deflated unless a ZipInfo says otherwise)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return path


def symlink_info(name: str) -> zipfile.ZipInfo:
    """A ZipInfo that marks the entry as a symbolic link (as `zip -y` writes it)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def fifo_info(name: str) -> zipfile.ZipInfo:
    """A ZipInfo that marks the entry as a named pipe."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFIFO | 0o644) << 16
    return info


@dataclass(frozen=True)
class RawEntry:
    """One entry of a hand-made zip; each header field can be forged."""

    name: bytes
    data: bytes  # what is stored: raw deflate for method 8
    method: int = zipfile.ZIP_STORED
    crc: int | None = None
    file_size: int | None = None
    compress_size: int | None = None
    flags: int = 0


def write_raw_zip(path: Path, entries: Iterable[RawEntry]) -> Path:
    """A zip written byte by byte, so that headers can lie about sizes, CRCs and flags."""
    local, central = bytearray(), bytearray()
    count = 0
    for entry in entries:
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        size = len(entry.data) if entry.file_size is None else entry.file_size
        packed = len(entry.data) if entry.compress_size is None else entry.compress_size
        fields = (20, entry.flags, entry.method, 0, 0x21, crc, packed, size, len(entry.name), 0)
        offset = len(local)
        local += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields) + entry.name + entry.data
        central += (
            struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, offset)
            + entry.name
        )
        count += 1
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def zeros_deflated(size_mib: int) -> tuple[bytes, int]:
    """Raw deflate of `size_mib` MiB of zero bytes and its CRC-32, built in milliseconds:
    after the first MiB every further MiB compresses to the same bytes."""
    zero = bytes(MIB)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(zero) + packer.flush(zlib.Z_SYNC_FLUSH)
    again = packer.compress(zero) + packer.flush(zlib.Z_SYNC_FLUSH)
    crc = 0
    for _ in range(size_mib):
        crc = zlib.crc32(zero, crc)
    return first + again * (size_mib - 1) + packer.flush(), crc


def box(
    size: tuple[float, float, float], low: tuple[float, float, float] = (0, 0, 0)
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """An axis-aligned box from `low`: 8 vertices, 12 outward-facing triangles."""
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    vertices = np.asarray(low) + corners * np.asarray(size)
    faces = np.array(
        [
            [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5],  # x = 0, x = 1
            [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],  # y = 0, y = 1
            [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],  # z = 0, z = 1
        ]
    )  # fmt: skip
    return vertices, faces


def obj_text(*meshes: tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]) -> bytes:
    """An OBJ with one object per mesh; vertices are never shared between objects."""
    lines, base = [], 0
    for number, (vertices, faces) in enumerate(meshes, start=1):
        lines.append(f"o body{number}")
        lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in vertices.tolist()]
        lines += [f"f {a + base + 1} {b + base + 1} {c + base + 1}" for a, b, c in faces]
        base += len(vertices)
    return ("\n".join(lines) + "\n").encode()


def stl_binary(vertices: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]) -> bytes:
    """A binary STL written with struct (independent of the code under test)."""
    out = bytearray(b"test cube".ljust(80, b" ") + struct.pack("<I", len(faces)))
    for face in faces:
        a, b, c = vertices[face]
        normal = np.cross(b - a, c - a)
        normal = normal / np.linalg.norm(normal)
        out += struct.pack("<12fH", *normal, *a, *b, *c, 0)
    return bytes(out)


BOX = '<geometry><box size="0.1 0.1 0.1"/></geometry>'
INERTIAL = (
    '<inertial><mass value="1"/>'
    '<inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/></inertial>'
)


def link(name: str, geometry: str = BOX, inertial: str = INERTIAL) -> str:
    shapes = f"<visual>{geometry}</visual><collision>{geometry}</collision>"
    return f'<link name="{name}">{inertial}{shapes}</link>'


def joint(name: str, parent: str, child: str, *, limit: str = 'lower="-1" upper="1"') -> str:
    return (
        f'<joint name="{name}" type="revolute"><parent link="{parent}"/><child link="{child}"/>'
        f'<origin xyz="0 0 0.2"/><axis xyz="0 0 1"/>'
        f'<limit {limit} effort="1" velocity="1"/></joint>'
    )


def mesh(filename: str) -> str:
    return f'<geometry><mesh filename="{filename}"/></geometry>'


def urdf(body: str, name: str = "r") -> bytes:
    return f'<?xml version="1.0"?>\n<robot name="{name}">{body}</robot>\n'.encode()
