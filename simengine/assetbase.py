"""What the asset checks share: the rejection error, the limits and the summary of a URDF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simengine.errors import InvalidAsset

MIB = 1024 * 1024

# Formats the pre-checks can read completely. pybullet also reads COLLADA (.dae), but a .dae
# is a second XML dialect with its own references; convert such meshes to OBJ or STL.
MESH_EXTENSIONS = frozenset({".obj", ".stl"})
TEXTURE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg"})


class AssetRejected(InvalidAsset):
    """A robot description failed the pre-checks that run before pybullet sees it.

    `element` names what is wrong (e.g. ``link[2] 'wheel'/visual[1]/geometry/mesh@filename``);
    `reason` says why, and never contains a server path.
    """

    def __init__(self, element: str, reason: str) -> None:
        super().__init__(f"{element}: {reason}")
        self.element = element
        self.detail = reason


class PackageTooLarge(AssetRejected):
    """A size, count, compression-ratio or triangle limit was exceeded (answered with 413).

    A subclass, so code that catches `AssetRejected` keeps treating it as a rejection. Its
    failure code is RESOURCE_LIMIT, so the API can tell it from other rejections when an
    isolated child reports it.
    """

    failure_code = "RESOURCE_LIMIT"


@dataclass(frozen=True, slots=True)
class AssetLimits:
    """Upper bounds on what a robot description may contain."""

    max_urdf_bytes: int = 5 * MIB
    max_links: int = 256
    max_joints: int = 256
    max_mesh_files: int = 256
    max_mesh_bytes: int = 16 * MIB
    max_total_mesh_bytes: int = 64 * MIB
    max_mesh_vertices: int = 200_000
    max_mesh_triangles: int = 200_000
    max_total_triangles: int = 1_000_000
    max_texture_bytes: int = 16 * MIB
    max_material_bytes: int = 1 * MIB


@dataclass(frozen=True, slots=True)
class UrdfSummary:
    """What the pre-checks learned about an accepted URDF.

    `path` is the resolved server path to hand to pybullet; never put it in a response.
    `mesh_files` are the mesh references as written in the URDF, relative to its folder.
    """

    path: Path
    name: str
    links: int
    joints: int
    movable_joints: tuple[str, ...]
    root_link: str
    mesh_files: tuple[str, ...]
    triangles: int
    sha256: str


def quoted(name: str, limit: int = 64) -> str:
    """Quote a user-supplied name for a message, cut to `limit` characters."""
    return repr(name if len(name) <= limit else name[:limit] + "...")
