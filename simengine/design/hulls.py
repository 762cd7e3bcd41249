"""Convex hulls: of a point set, and a mesh's approximate convex decomposition by CoACD."""

from __future__ import annotations

import numpy as np
import trimesh

from simengine.design.meshes import Mesh
from simengine.design.segjob import Decomposition
from simengine.types import FloatArray


def convex_hull(points: FloatArray) -> Mesh | None:
    """The convex hull of `points`, each triangle wound outwards; None when they are flat.

    Built without trimesh's repair step, which needs networkx: a hull is convex, so a
    triangle faces outwards when it faces away from the centre of the hull's vertices.
    """
    if len(points) < 4:
        return None
    try:
        hull = trimesh.convex.convex_hull(np.asarray(points), repair=False)
    except (RuntimeError, ValueError, IndexError):  # scipy's QhullError: flat points
        return None
    mesh = Mesh.of(hull.vertices, hull.faces)
    if len(mesh.faces) < 4:
        return None
    corners = mesh.vertices[mesh.faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    inward = np.einsum("ij,ij->i", normals, corners[:, 0] - mesh.vertices.mean(axis=0)) < 0
    faces = mesh.faces.copy()
    faces[inward] = faces[inward][:, ::-1]
    return Mesh(mesh.vertices, faces)


def decompose(mesh: Mesh, *, closed: bool, settings: Decomposition) -> list[Mesh]:
    """CoACD's convex parts of `mesh`, each as its outward-wound convex hull.

    A closed mesh skips CoACD's manifold preprocessing (same hulls, faster); an open one
    is remeshed first, which is slow (tens of seconds for a few triangles) and treats the
    surface as a thin shell.
    """
    import coacd  # type: ignore[import-untyped]  # a C++ library, loaded only in a child

    coacd.set_log_level("error")
    found = coacd.run_coacd(
        coacd.Mesh(mesh.vertices, mesh.faces.astype(np.int32)),
        threshold=settings.threshold,
        max_convex_hull=settings.max_hulls or -1,
        preprocess_mode="off" if closed else "auto",
        seed=settings.seed,
    )
    hulls = (convex_hull(np.asarray(vertices, dtype=np.float64)) for vertices, _ in found)
    return [hull for hull in hulls if hull is not None]
