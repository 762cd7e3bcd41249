"""Assets to segment: meshes built in code, imported for real or written as canonical URDFs."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from simengine import api
from tests.simengine.schemas import errors

Arrays = tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]
# An L in the xy-plane (0.2 x 0.2 with a 0.1 x 0.1 notch), counter-clockwise; vertex 3 is
# the inner corner, from which a fan covers the L without leaving it.
L_OUTLINE = ((0, 0), (0.2, 0), (0.2, 0.1), (0.1, 0.1), (0.1, 0.2), (0, 0.2))
L_HEIGHT = 0.05
L_VOLUME = 0.03 * L_HEIGHT


def l_prism() -> Arrays:
    """The L outline extruded by `L_HEIGHT`: closed, outward-facing, not convex."""
    outline = np.array(L_OUTLINE, dtype=float)
    n = len(outline)
    vertices = np.vstack([np.c_[outline, np.zeros(n)], np.c_[outline, np.full(n, L_HEIGHT)]])
    faces = []
    for i in range(n):
        j = (i + 1) % n
        faces += [[i, j, n + j], [i, n + j, n + i]]
    fan = [(3 + k) % n for k in range(n)]
    for a, b in itertools.pairwise(fan[1:]):
        faces += [[3, b, a], [n + 3, n + a, n + b]]
    return vertices, np.array(faces, dtype=np.int64)


def import_mesh(tmp_path: Path, data: bytes, filename: str) -> dict[str, Any]:
    """Import `data` as a bare mesh with the real importer; the segmentation job's asset
    keys (`asset_dir`, `main_file`, `format`, `source_kind`)."""
    source = tmp_path / "upload"
    source.write_bytes(data)
    asset_dir = tmp_path / "asset"
    asset_dir.mkdir()
    result = api.import_asset(
        {"source": str(source), "filename": filename, "work_dir": str(asset_dir), "check_steps": 0}
    )
    return {
        "asset_dir": str(asset_dir),
        "main_file": result["main_file"],
        "format": result["source_format"],
        "source_kind": result["source_kind"],
    }


def write_urdf_asset(folder: Path, urdf: str, meshes: dict[str, bytes]) -> dict[str, Any]:
    """A canonical folder written by hand: `robot.urdf` and `meshes/<name>`."""
    folder.mkdir()
    (folder / "meshes").mkdir()
    (folder / "robot.urdf").write_text(urdf, encoding="utf-8")
    for name, data in meshes.items():
        (folder / "meshes" / name).write_bytes(data)
    return {
        "asset_dir": str(folder),
        "main_file": "robot.urdf",
        "format": "urdf",
        "source_kind": "urdf",
    }


def segment(
    tmp_path: Path, asset: dict[str, Any], method: str, *, out: str = "out", **extra: Any
) -> tuple[dict[str, Any], Path]:
    """Segment `asset` into a new folder `tmp_path/out`; the result (each part checked
    against the Part contract) and that folder."""
    out_dir = tmp_path / out
    out_dir.mkdir()
    job = {
        **asset,
        "method": method,
        "density_kg_m3": 1000.0,
        "max_parts": 64,
        "decomposition": {"threshold": 0.05, "max_hulls": None, "seed": 0},
        "out_dir": str(out_dir),
        "limits": {"max_triangles": 100_000},
        **extra,
    }
    result = api.segment_asset(job)
    assert [errors("Part", part) for part in result["parts"]] == [[]] * len(result["parts"])
    return result, out_dir


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.obj")}


def box_tensor(mass: float, x: float, y: float, z: float) -> npt.NDArray[np.float64]:
    """The inertia of a solid x * y * z box about its centre."""
    return np.diag([y * y + z * z, x * x + z * z, x * x + y * y]) * mass / 12
