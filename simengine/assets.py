"""Robot descriptions are checked here, in plain Python, before pybullet ever sees them.

pybullet 3.2.7 crashes on some inputs (two root links, out-of-range OBJ indices), hangs on
others (a mesh path that is a FIFO) and follows absolute, `..` and symlinked mesh paths. This
module imports no pybullet, so the API process can run it and answer 422 before any child.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from simengine.assetbase import (
    MESH_EXTENSIONS,
    TEXTURE_EXTENSIONS,
    AssetLimits,
    AssetRejected,
    PackageTooLarge,
    UrdfSummary,
)
from simengine.meshcheck import check_material, check_mesh
from simengine.safefiles import check_reference, locate_regular, read_regular
from simengine.urdfcheck import FileRef, parse_urdf

__all__ = [
    "AssetLimits",
    "AssetRejected",
    "PackageTooLarge",
    "UrdfSummary",
    "check_urdf",
    "resolve_server_file",
    "resolve_urdf_path",
]

# The UrdfPath contract's pattern: relative, no `.`/`..`/empty/hidden segments, ends in .urdf.
URDF_PATH = re.compile(
    r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)*\.urdf"
)
# The RelativePath contract's pattern: the same segments, any extension.
RELATIVE_PATH = re.compile(
    r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)*"
)
_DEFAULT_LIMITS = AssetLimits()


def resolve_urdf_path(
    urdf_path: str, *, allowed_roots: Sequence[Path], limits: AssetLimits = _DEFAULT_LIMITS
) -> Path:
    """Map an API `urdf_path` such as ``examples/simple_robot.urdf`` to a file on the server.

    The first segment names one of `allowed_roots` by its folder name (``examples``,
    ``assets``); the rest is looked up inside that folder without leaving it.

    Args:
        urdf_path: the path as the client sent it (the UrdfPath contract).
        allowed_roots: the folders URDFs may come from; their names must differ.
        limits: the URDF size limit applies here already.

    Returns:
        The resolved path of an existing regular file inside its root.

    Raises:
        AssetRejected: (element ``urdf_path``) the path is malformed, outside the allowed
            roots, a symlink or not a regular file. The reason never shows a server path.
    """
    if not 6 <= len(urdf_path) <= 255 or not URDF_PATH.fullmatch(urdf_path):
        raise AssetRejected(
            "urdf_path",
            "must be a relative path like 'examples/simple_robot.urdf': letters, digits, '_', "
            "'-' and '.' inside names, '/' between them, no '..' or hidden names, ending .urdf",
        )
    return _resolve(urdf_path, allowed_roots, "urdf_path", "URDF", limits.max_urdf_bytes)


def resolve_server_file(source_path: str, *, allowed_roots: Sequence[Path], max_bytes: int) -> Path:
    """Map an import's `source_path` (any file, e.g. ``examples/robot.zip``) to a regular
    file inside one of `allowed_roots`, as `resolve_urdf_path` does for URDFs.

    Raises:
        AssetRejected: (element ``source_path``) malformed, outside the roots, a symlink,
            not a regular file, or larger than `max_bytes`.
    """
    if not 1 <= len(source_path) <= 255 or not RELATIVE_PATH.fullmatch(source_path):
        raise AssetRejected(
            "source_path",
            "must be a relative path like 'examples/simple_robot.urdf': letters, digits, '_', "
            "'-' and '.' inside names, '/' between them, no '..' or hidden names",
        )
    return _resolve(source_path, allowed_roots, "source_path", "file", max_bytes)


def _resolve(
    given: str, allowed_roots: Sequence[Path], element: str, what: str, max_bytes: int
) -> Path:
    roots = {root.name: root for root in allowed_roots}
    if len(roots) != len(allowed_roots):
        raise ValueError("allowed roots must have distinct folder names")
    first, *rest = PurePosixPath(given).parts
    if first not in roots or not rest:
        raise AssetRejected(
            element,
            "must start with one of the allowed folders: "
            + ", ".join(f"{name}/" for name in sorted(roots)),
        )
    try:
        folder = roots[first].resolve(strict=True)
    except OSError:
        raise AssetRejected(element, f"the folder '{first}/' is not available") from None
    found = locate_regular(
        folder, PurePosixPath(*rest), element=element, what=what, max_bytes=max_bytes
    )
    if found is None:
        noun = "file" if what == "file" else f"{what} file"
        raise AssetRejected(element, f"no {noun} at {given!r}")
    return found


def check_urdf(
    path: Path, *, root: Path, limits: AssetLimits = _DEFAULT_LIMITS, physics: bool = False
) -> UrdfSummary:
    """Check a URDF file and every file it names before pybullet loads it.

    Args:
        path: the URDF file; it must lie inside `root` (symlinks are not followed out).
        root: the folder the URDF must come from.
        limits: size and count limits.
        physics: also reject masses <= 0, impossible inertia tensors and joint limits
            with lower > upper (see `simengine.physicscheck`).

    Returns:
        A summary whose `path` is what to hand to pybullet (resolved, checked).

    Raises:
        AssetRejected: naming the element or attribute that is wrong.
        PackageTooLarge: a size, count or triangle limit was exceeded.
    """
    try:
        root_folder = root.resolve(strict=True)
    except OSError:
        raise AssetRejected("urdf", "the asset folder is not available") from None
    if path.name in ("", ".", ".."):
        raise AssetRejected("urdf", "the path does not name a file")
    try:
        folder = path.parent.resolve(strict=True)
    except OSError:
        raise AssetRejected("urdf", "the URDF's folder does not exist") from None
    if not folder.is_relative_to(root_folder):
        raise AssetRejected("urdf", "the URDF is not inside its asset folder")
    found = locate_regular(
        folder,
        PurePosixPath(path.name),
        element="urdf",
        what="URDF",
        max_bytes=limits.max_urdf_bytes,
    )
    if found is None:
        raise AssetRejected("urdf", "the URDF file does not exist")
    data = read_regular(found, element="urdf", what="URDF", max_bytes=limits.max_urdf_bytes)
    tree = parse_urdf(data, limits=limits, physics=physics)
    meshes, triangles = _check_files(tree.files, folder=found.parent, limits=limits)
    return UrdfSummary(
        path=found,
        name=tree.name,
        links=len(tree.links),
        joints=len(tree.joints),
        movable_joints=tree.movable_joints,
        root_link=tree.root_link,
        mesh_files=meshes,
        triangles=triangles,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _check_files(
    refs: Sequence[FileRef], *, folder: Path, limits: AssetLimits
) -> tuple[tuple[str, ...], int]:
    """Check each referenced file once; return the mesh names and their total triangles."""
    meshes: dict[str, int] = {}
    checked: set[str] = set()
    total_bytes = 0
    for ref in refs:
        rel = check_reference(ref.filename, element=ref.element, what=ref.kind)
        if ref.kind == "texture":
            _check_texture(folder, rel, element=ref.element, limits=limits, checked=checked)
            continue
        if rel.suffix.lower() not in MESH_EXTENSIONS:
            raise AssetRejected(
                ref.element,
                f"mesh format {rel.suffix or '(none)'!r} is not accepted; "
                f"use one of {sorted(MESH_EXTENSIONS)}",
            )
        if str(rel) in meshes:
            continue
        if len(meshes) >= limits.max_mesh_files:
            raise PackageTooLarge(ref.element, f"more than {limits.max_mesh_files} mesh files")
        found = locate_regular(
            folder, rel, element=ref.element, what="mesh", max_bytes=limits.max_mesh_bytes
        )
        if found is None:
            raise AssetRejected(ref.element, f"mesh file {str(rel)!r} does not exist")
        data = read_regular(
            found, element=ref.element, what="mesh", max_bytes=limits.max_mesh_bytes
        )
        total_bytes += len(data)
        if total_bytes > limits.max_total_mesh_bytes:
            raise PackageTooLarge(ref.element, f"meshes exceed {limits.max_total_mesh_bytes} bytes")
        info = check_mesh(data, suffix=rel.suffix.lower(), element=ref.element, limits=limits)
        meshes[str(rel)] = info.triangles
        if sum(meshes.values()) > limits.max_total_triangles:
            raise PackageTooLarge(
                ref.element, f"meshes exceed {limits.max_total_triangles} triangles"
            )
        for library in info.material_files:
            _check_library(found.parent, library, element=ref.element, limits=limits)
    return tuple(meshes), sum(meshes.values())


def _check_library(folder: Path, name: str, *, element: str, limits: AssetLimits) -> None:
    """Check an OBJ's material library (resolved beside the OBJ) and the textures it names."""
    where = f"{element} mtllib"
    rel = check_reference(name, element=where, what="material library")
    found = locate_regular(
        folder, rel, element=where, what="material library", max_bytes=limits.max_material_bytes
    )
    if found is None:
        # Missing files make pybullet search further places (its search path, `../`).
        raise AssetRejected(where, f"material library {str(rel)!r} does not exist")
    data = read_regular(
        found, element=where, what="material library", max_bytes=limits.max_material_bytes
    )
    for line, texture in check_material(data, element=where):
        texture_rel = check_reference(texture, element=line, what="texture")
        # Textures are looked up beside the OBJ, wherever its material library is.
        _check_texture(folder, texture_rel, element=line, limits=limits, checked=set())


def _check_texture(
    folder: Path, rel: PurePosixPath, *, element: str, limits: AssetLimits, checked: set[str]
) -> None:
    # A texture must exist: when it is missing pybullet retries with `../` prefixes.
    if rel.suffix.lower() not in TEXTURE_EXTENSIONS:
        raise AssetRejected(
            element, f"texture format {rel.suffix or '(none)'!r}; use {sorted(TEXTURE_EXTENSIONS)}"
        )
    if str(rel) in checked:
        return
    found = locate_regular(
        folder, rel, element=element, what="texture", max_bytes=limits.max_texture_bytes
    )
    if found is None:
        raise AssetRejected(element, f"texture file {str(rel)!r} does not exist")
    checked.add(str(rel))
