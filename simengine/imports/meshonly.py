"""A bare mesh becomes a one-link robot whose inertial comes from the mesh itself."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simengine.imports.inertia import mesh_inertial
from simengine.imports.limits import ImportLimits
from simengine.imports.meshload import LoadedMesh, is_binary_stl, load_mesh
from simengine.imports.meshwrite import write_obj
from simengine.imports.objgroups import GroupsUnmatchedError, face_groups
from simengine.imports.urdfwrite import mesh_robot, write_urdf

MESH_FOLDER = "meshes"


@dataclass(frozen=True, slots=True)
class MeshAsset:
    """The canonical URDF written for a bare mesh, and what was noticed on the way."""

    urdf: Path
    warnings: list[str]


def import_mesh(
    source: Path,
    *,
    kind: str,
    work_dir: Path,
    name: str,
    density: float,
    limits: ImportLimits,
    element: str,
    shown_as: str,
) -> MeshAsset:
    """Write `work_dir/<name>.urdf` and `work_dir/meshes/<name>.obj` (or `.stl`).

    Args:
        source: the mesh file (staged inside `work_dir`).
        kind: its source kind (obj, stl, ply, glb, dae).
        work_dir: the canonical folder.
        name: the robot, link and file name (already safe).
        density: kg/m^3 for the inertial.
        limits: the triangle limit applies.
        element: how errors name the mesh (``file`` or ``entry 'x.obj'``).
        shown_as: how warnings name the mesh (its name in the package, quoted).

    Raises:
        AssetRejected: the mesh cannot be read or encloses no volume.
        PackageTooLarge: too many triangles.
    """
    loaded = load_mesh(source, kind=kind, element=element, limits=limits)
    inertial, warnings = mesh_inertial(loaded.mesh, density=density, element=element, name=shown_as)
    (work_dir / MESH_FOLDER).mkdir()
    if kind == "stl" and is_binary_stl(source):
        mesh_file = f"{MESH_FOLDER}/{name}.stl"
        shutil.copyfile(source, work_dir / mesh_file)
    else:
        mesh_file = f"{MESH_FOLDER}/{name}.obj"
        faces = np.asarray(loaded.mesh.faces, dtype=np.int64)
        groups: list[tuple[str, int]] = []
        if kind == "obj":
            faces, groups = _grouped(source, loaded, faces, shown_as, warnings)
        write_obj(work_dir / mesh_file, loaded.vertices, faces, groups)
        if kind != "obj":
            warnings.append(f"mesh {shown_as} was converted to OBJ; its materials were dropped")
    urdf = work_dir / f"{name}.urdf"
    write_urdf(mesh_robot(name, mesh_file=mesh_file, inertial=inertial), urdf)
    return MeshAsset(urdf=urdf, warnings=warnings)


def _grouped(
    source: Path,
    loaded: LoadedMesh,
    faces: npt.NDArray[np.int64],
    shown_as: str,
    warnings: list[str],
) -> tuple[npt.NDArray[np.int64], list[tuple[str, int]]]:
    """The faces ordered group by group and the groups' names and sizes, so that the
    canonical OBJ keeps the source's `o` / `g` / `usemtl` groups (for `mesh_groups`)."""
    try:
        groups = face_groups(source.read_bytes(), loaded.vertices, faces)
    except GroupsUnmatchedError:
        warnings.append(
            f"the o/g/usemtl groups of mesh {shown_as} did not match its triangles and were dropped"
        )
        return faces, []
    if groups is None:
        return faces, []
    return groups.grouped(faces)
