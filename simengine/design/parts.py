"""A segmented part as the contract's Part: a unique name, OBJ files and plain numbers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simengine.design.meshes import Mesh, write_obj
from simengine.design.solids import Solid, convex_volume
from simengine.types import FloatArray, JSONDict

PART_FOLDER = "parts"
MAX_NAME = 128
_MAX_FILE_STEM = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class Built:
    """What a part is made of before it is written.

    `mesh` is in the asset frame (None: a link without geometry); `source` is the
    InertiaSource of `solid`; `hulls` come from `convex_decomposition`.
    """

    mesh: Mesh | None
    solid: Solid
    source: str
    watertight: bool
    hulls: list[Mesh] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Piece:
    """A part counted but not built yet: its name as found, and how to build it (given its
    final, unique name for the warnings)."""

    name: str
    build: Callable[[str], Built]


class PartFiles:
    """Names parts uniquely and writes `parts/<NNN>_<name>.obj` and `<NNN>_hull_<MM>.obj`."""

    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir
        self._names: set[str] = set()

    def unique_name(self, raw: str) -> str:
        """`raw` without control characters, cut to 128, numbered `_2`, `_3`... if taken."""
        base = _CONTROL.sub("_", raw)[:MAX_NAME] or "part"
        name, number = base, 1
        while name in self._names:
            number += 1
            suffix = f"_{number}"
            name = base[: MAX_NAME - len(suffix)] + suffix
        self._names.add(name)
        return name

    def write(self, index: int, name: str, built: Built) -> JSONDict:
        """Write the part's files; return its Part dict."""
        folder = self._out_dir / PART_FOLDER
        folder.mkdir(exist_ok=True)
        mesh_file = None
        if built.mesh is not None:
            stem = _UNSAFE.sub("_", name).strip("_")[:_MAX_FILE_STEM] or "part"
            mesh_file = f"{PART_FOLDER}/{index:03d}_{stem}.obj"
            write_obj(self._out_dir / mesh_file, built.mesh)
        hulls = []
        for number, hull in enumerate(built.hulls):
            hull_file = f"{PART_FOLDER}/{index:03d}_hull_{number:02d}.obj"
            write_obj(self._out_dir / hull_file, hull)
            hulls.append(
                {
                    "mesh_file": hull_file,
                    "volume_m3": convex_volume(hull),
                    "faces": len(hull.faces),
                    "vertices": len(hull.vertices),
                }
            )
        return _part(name, built, mesh_file, hulls)


def _part(name: str, built: Built, mesh_file: str | None, hulls: list[JSONDict]) -> JSONDict:
    solid, mesh = built.solid, built.mesh
    if mesh is not None and len(mesh.vertices):
        low, high = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    else:
        low = high = solid.centroid
    return {
        "name": name,
        "faces": 0 if mesh is None else len(mesh.faces),
        "vertices": 0 if mesh is None else len(mesh.vertices),
        "volume_m3": float(solid.volume),
        "mass_kg": float(solid.mass),
        "centroid_m": _floats(solid.centroid),
        "inertia_kg_m2": [_floats(row) for row in solid.tensor],
        "inertia_source": built.source,
        "bounding_box": {"min": _floats(low), "max": _floats(high)},
        "watertight": built.watertight,
        "mesh_file": mesh_file,
        "hulls": hulls,
    }


def _floats(values: FloatArray) -> list[float]:
    return [float(v) + 0.0 for v in np.asarray(values, dtype=np.float64).reshape(-1)]
