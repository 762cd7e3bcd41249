"""The `o`, `g` and `usemtl` groups of a Wavefront OBJ, matched to the triangles trimesh read.

trimesh drops group names, gathers faces by material and puts the first halves of all quads
before their second halves, so a group's faces are not where the file has them. Groups are
therefore matched to trimesh's triangles by the positions of their corners, not by order.

A new group starts at each `o`, `g` or `usemtl` line and is named after it (a `usemtl` right
after an `o` or `g` that has no faces yet keeps the object's name); faces before the first
such line form the group ``default``. Groups without faces are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simengine.types import FloatArray

IntArray = npt.NDArray[np.int64]

MAX_NAME = 128
DEFAULT_GROUP = "default"
_DIRECTIVE = re.compile(rb"^[ \t]*(?:o|g|usemtl)(?:[ \t]|\r?$)", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMED_BY_OBJECT = ("o", "g")


class GroupsUnmatchedError(ValueError):
    """The file's faces, read here, are not the triangles trimesh read from it."""


@dataclass(frozen=True, slots=True)
class FaceGroups:
    """`names[labels[i]]` is the group of face `i`; names in file order, each with faces."""

    names: tuple[str, ...]
    labels: IntArray

    def grouped(self, faces: IntArray) -> tuple[IntArray, list[tuple[str, int]]]:
        """`faces` reordered group by group (stable inside a group), and each group's name
        and face count in that order."""
        order = np.argsort(self.labels, kind="stable")
        counts = np.bincount(self.labels, minlength=len(self.names))
        return faces[order], [(n, int(c)) for n, c in zip(self.names, counts, strict=True)]


def clean_name(raw: str) -> str:
    """A group name on one line: whitespace runs as one space, control characters as `_`,
    at most `MAX_NAME` characters, `default` if nothing is left."""
    text = _CONTROL.sub("_", " ".join(raw.split()))[:MAX_NAME].strip()
    return text or DEFAULT_GROUP


def face_groups(data: bytes, vertices: FloatArray, faces: IntArray) -> FaceGroups | None:
    """The group of each of `faces` (trimesh's reading of the OBJ `data`).

    Returns:
        None when the file names no group that has faces.

    Raises:
        GroupsUnmatchedError: the file's triangles, read here, differ from `faces`.
    """
    if _DIRECTIVE.search(data) is None:
        return None
    parsed = _Parsed.read(data.decode("utf-8", errors="replace"))
    kept = [i for i, count in enumerate(parsed.counts) if count > 0]
    if not any(i > 0 for i in kept):
        return None
    renumber = np.full(len(parsed.counts), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    labels = _match(parsed, vertices, faces)
    return FaceGroups(
        names=tuple(clean_name(parsed.names[i]) for i in kept), labels=renumber[labels]
    )


class _Parsed:
    """Vertex positions, triangles (fans, as trimesh cuts polygons) and their groups."""

    def __init__(self) -> None:
        self.positions: list[tuple[float, float, float]] = []
        self.triangles: list[tuple[int, int, int]] = []
        self.labels: list[int] = []
        self.names, self.kinds, self.counts = [DEFAULT_GROUP], [""], [0]

    @classmethod
    def read(cls, text: str) -> _Parsed:
        parsed = cls()
        for line in text.replace("\\\r\n", "").replace("\\\n", "").splitlines():
            tokens = line.split()
            if not tokens:
                continue
            key = tokens[0]
            try:
                if key == "v":
                    x, y, z = (float(t) for t in tokens[1:4])
                    parsed.positions.append((x, y, z))
                elif key == "f":
                    parsed.face([_index(t, len(parsed.positions)) for t in tokens[1:]])
                elif key in ("o", "g", "usemtl"):
                    parsed.directive(key, " ".join(tokens[1:]))
            except ValueError:
                raise GroupsUnmatchedError(f"line {line[:40]!r} could not be read") from None
        return parsed

    def face(self, corners: list[int]) -> None:
        if len(corners) < 3:
            return  # trimesh skips these too
        group = len(self.counts) - 1
        for k in range(1, len(corners) - 1):
            self.triangles.append((corners[0], corners[k], corners[k + 1]))
            self.labels.append(group)
        self.counts[group] += len(corners) - 2

    def directive(self, key: str, name: str) -> None:
        last = len(self.counts) - 1
        if last == 0 or self.counts[last] > 0:
            self.names.append(name)
            self.kinds.append(key)
            self.counts.append(0)
        elif not (key == "usemtl" and self.kinds[last] in _NAMED_BY_OBJECT):
            self.names[last], self.kinds[last] = name, key


def _index(token: str, defined: int) -> int:
    """A 0-based vertex index from a face token (`v`, `v/vt`, `v//vn`, `v/vt/vn`)."""
    number = int(token.split("/", 1)[0])
    if number == 0:
        raise ValueError(token)
    return number - 1 if number > 0 else defined + number


def _match(parsed: _Parsed, vertices: FloatArray, faces: IntArray) -> IntArray:
    """Each face's group index, pairing triangles with the same corner positions."""
    if len(parsed.triangles) != len(faces):
        raise GroupsUnmatchedError(f"{len(parsed.triangles)} triangles read, {len(faces)} expected")
    ours = np.array(parsed.triangles, dtype=np.int64).reshape(-1, 3)
    if len(ours) and (ours.min() < 0 or ours.max() >= len(parsed.positions)):
        raise GroupsUnmatchedError("a face refers to a vertex that does not exist")
    points = np.vstack([np.array(parsed.positions, dtype=np.float64).reshape(-1, 3), vertices])
    _, point_ids = np.unique(points, axis=0, return_inverse=True)
    point_ids = point_ids.reshape(-1)
    split = len(parsed.positions)
    keys = np.vstack(
        [np.sort(point_ids[:split][ours], axis=1), np.sort(point_ids[split:][faces], axis=1)]
    )
    _, triangle_ids = np.unique(keys, axis=0, return_inverse=True)
    triangle_ids = triangle_ids.reshape(-1)
    mine, theirs = triangle_ids[: len(ours)], triangle_ids[len(ours) :]
    mine_order = np.argsort(mine, kind="stable")
    their_order = np.argsort(theirs, kind="stable")
    if not np.array_equal(mine[mine_order], theirs[their_order]):
        raise GroupsUnmatchedError("the triangles read differ from trimesh's")
    labels = np.empty(len(faces), dtype=np.int64)
    labels[their_order] = np.asarray(parsed.labels, dtype=np.int64)[mine_order]
    return labels
