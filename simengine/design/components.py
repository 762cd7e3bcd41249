"""A mesh's connected bodies: faces joined through the vertex indices they share.

Vertices are never merged by position, so two bodies that only touch stay two bodies.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

from simengine.design.meshes import IntArray


def components(faces: IntArray, vertex_count: int) -> list[IntArray]:
    """The face indices of each connected body, bodies ordered by their first face and
    faces kept in their order."""
    if len(faces) == 0:
        return []
    # Each triangle links its first vertex to the other two; that connects all three.
    rows = np.concatenate([faces[:, 0], faces[:, 0]])
    cols = np.concatenate([faces[:, 1], faces[:, 2]])
    graph = coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(vertex_count, vertex_count)
    )
    _, vertex_body = connected_components(graph, directed=False)
    face_body = vertex_body[faces[:, 0]]
    bodies, first, rank = np.unique(face_body, return_index=True, return_inverse=True)
    # Renumber bodies by their first face, then gather each body's faces in order.
    order_of_body = np.empty(len(bodies), dtype=np.int64)
    order_of_body[np.argsort(first)] = np.arange(len(bodies))
    face_rank = order_of_body[rank.reshape(-1)]
    grouped = np.argsort(face_rank, kind="stable").astype(np.int64)
    counts = np.bincount(face_rank, minlength=len(bodies))
    return list(np.split(grouped, np.cumsum(counts)[:-1]))
