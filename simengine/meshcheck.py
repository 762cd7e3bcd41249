"""Mesh and material contents checked before pybullet parses them.

pybullet dies with SIGSEGV on an OBJ face whose index is out of range, so every index
(vertex, texture coordinate, normal) is resolved here as OBJ defines it: 1-based, negative
counts back from the last one defined so far, 0 invalid. STL is read only in its binary
form, which is all pybullet's STL loader understands (it checks `84 + 50 * count == size`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from simengine.assetbase import AssetLimits, AssetRejected, PackageTooLarge

_INT = re.compile(rb"[+-]?[0-9]+")
_TEXTURE_KEYS = frozenset({b"bump", b"disp", b"decal", b"refl"})
STL_HEADER = 84
STL_RECORD = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])


@dataclass(frozen=True, slots=True)
class MeshInfo:
    """What a mesh contributes: its triangle count and the material libraries it names."""

    triangles: int
    material_files: tuple[str, ...] = ()


def check_mesh(data: bytes, *, suffix: str, element: str, limits: AssetLimits) -> MeshInfo:
    """Check a mesh file's bytes by its extension (`.obj` or `.stl`).

    Raises:
        AssetRejected: the mesh is malformed, indexes outside its arrays or is too large.
    """
    if suffix == ".obj":
        return check_obj(data, element=element, limits=limits)
    return check_stl(data, element=element, limits=limits)


def check_obj(data: bytes, *, element: str, limits: AssetLimits) -> MeshInfo:
    """Check a Wavefront OBJ: numbers finite, every face index in range, counts bounded."""
    counts = {b"v": 0, b"vt": 0, b"vn": 0}
    sizes = {b"v": (3, 7), b"vt": (1, 3), b"vn": (3, 3)}
    triangles = 0
    materials: list[str] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        tokens = raw.split()
        if not tokens:
            continue
        key, args = tokens[0], tokens[1:]
        if key in counts:
            low, high = sizes[key]
            if not low <= len(args) <= high or not _all_finite(args):
                where = f"{element} (line {number})"
                raise AssetRejected(where, f"'{key.decode()}' needs {low}-{high} finite numbers")
            counts[key] += 1
            if counts[b"v"] > limits.max_mesh_vertices:
                raise PackageTooLarge(element, f"more than {limits.max_mesh_vertices} vertices")
        elif key == b"f":
            if len(args) < 3 or not _face_in_range(args, counts):
                _explain_face(args, counts, f"{element} (line {number})")
            triangles += len(args) - 2
            if triangles > limits.max_mesh_triangles:
                raise PackageTooLarge(element, f"more than {limits.max_mesh_triangles} triangles")
        elif key == b"mtllib":
            materials.append(_single_name(args, f"{element} (line {number})", "mtllib"))
    if triangles == 0:
        raise AssetRejected(element, "the OBJ file has no faces")
    return MeshInfo(triangles=triangles, material_files=tuple(materials))


def _face_in_range(args: list[bytes], counts: dict[bytes, int]) -> bool:
    """The common case, fast: positive indices within what is defined so far."""
    nv, nt, nn = counts[b"v"], counts[b"vt"], counts[b"vn"]
    for token in args:
        if token.isdigit():
            if not 0 < int(token) <= nv:
                return False
            continue
        parts = token.split(b"/")
        if len(parts) > 3:
            return False
        for position, (text, defined) in enumerate(zip(parts, (nv, nt, nn), strict=False)):
            if (text or position == 0) and not (text.isdigit() and 0 < int(text) <= defined):
                return False
    return True


def _explain_face(args: list[bytes], counts: dict[bytes, int], where: str) -> None:
    """Accept a face with negative indices that resolve in range, or say what is wrong."""
    if len(args) < 3:
        raise AssetRejected(where, "a face needs at least 3 vertices")
    for token in args:
        parts = token.split(b"/")
        if len(parts) > 3 or not parts[0]:
            shown = token[:32].decode(errors="replace")
            raise AssetRejected(where, f"malformed face vertex {shown!r}")
        for kind, text in zip((b"v", b"vt", b"vn"), parts, strict=False):
            if not text:
                continue  # "1//3": no texture coordinate
            if not _INT.fullmatch(text):
                shown = text[:32].decode(errors="replace")
                raise AssetRejected(where, f"face index {shown!r}")
            index, defined = int(text), counts[kind]
            position = index - 1 if index > 0 else defined + index
            if index == 0 or not 0 <= position < defined:
                raise AssetRejected(
                    where,
                    f"face {kind.decode()} index {index} is out of range "
                    f"({defined} defined so far; indices are 1-based, negative counts back)",
                )


def check_material(data: bytes, *, element: str) -> tuple[tuple[str, str], ...]:
    """Return the texture files an OBJ material library (.mtl) names, with where it does."""
    textures: list[tuple[str, str]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        tokens = raw.split()
        if tokens and is_texture_key(tokens[0]):
            where = f"{element} (line {number})"
            textures.append((where, _single_name(tokens[1:], where, "texture")))
    return tuple(textures)


def is_texture_key(key: bytes) -> bool:
    """Whether a material library line starting with `key` names a texture file."""
    return key.startswith(b"map_") or key in _TEXTURE_KEYS


def binary_stl_count(head: bytes, size: int) -> int | None:
    """The triangle count of a binary STL from its first 84 bytes and its size, or None
    when the two do not match (then it is ASCII STL or no STL at all)."""
    if len(head) < STL_HEADER:
        return None
    count = int.from_bytes(head[80:STL_HEADER], "little")
    return count if STL_HEADER + STL_RECORD.itemsize * count == size else None


def check_stl(data: bytes, *, element: str, limits: AssetLimits) -> MeshInfo:
    """Check a binary STL: the header's triangle count matches the size, vertices finite."""
    hint = "; ASCII STL is not supported, save it as binary STL" if data[:5] == b"solid" else ""
    if len(data) < STL_HEADER:
        raise AssetRejected(element, f"the STL file is shorter than its 84-byte header{hint}")
    count = int.from_bytes(data[80:84], "little")
    if STL_HEADER + STL_RECORD.itemsize * count != len(data):
        raise AssetRejected(
            element, f"the STL header says {count} triangles, which does not match its size{hint}"
        )
    if count == 0:
        raise AssetRejected(element, "the STL file has no triangles")
    if count > limits.max_mesh_triangles:
        raise PackageTooLarge(element, f"{count} triangles; limit {limits.max_mesh_triangles}")
    records = np.frombuffer(data, dtype=STL_RECORD, count=count, offset=STL_HEADER)
    if not np.isfinite(records["vertices"]).all():
        raise AssetRejected(element, "the STL file has non-finite vertex coordinates")
    return MeshInfo(triangles=count)


def _all_finite(args: list[bytes]) -> bool:
    try:
        return all(math.isfinite(float(text)) for text in args)
    except ValueError:
        return False


def _single_name(args: list[bytes], where: str, what: str) -> str:
    if len(args) != 1:
        raise AssetRejected(where, f"{what} must name exactly one file without spaces")
    try:
        return args[0].decode("utf-8")
    except UnicodeDecodeError:
        raise AssetRejected(where, f"{what} file name is not UTF-8") from None
