"""Upper bounds on one uploaded robot package (zip entries, bytes, triangles, links)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from simengine.assetbase import MIB, AssetLimits, AssetRejected


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """What an import accepts before it answers 413 (or 422 for `max_links`)."""

    max_unpacked_bytes: int = 512 * MIB
    max_entries: int = 2000
    max_entry_bytes: int = 256 * MIB
    max_compression_ratio: float = 200
    max_triangles: int = 2_000_000
    max_links: int = 256

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> ImportLimits:
        """Limits from a job's "limits" dict; missing keys keep their defaults.

        Raises:
            AssetRejected: an unknown key, or a value that is not a positive number.
        """
        if not raw:
            return cls()
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                raise AssetRejected("limits", f"unknown limit {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise AssetRejected("limits", f"{key} must be a positive number")
            values[key] = value if key == "max_compression_ratio" else int(value)
        return cls(**values)


def asset_limits(limits: ImportLimits) -> AssetLimits:
    """The URDF pre-check limits (`simengine.assets`) that go with an import's limits."""
    return AssetLimits(
        max_links=limits.max_links,
        max_joints=limits.max_links,
        max_mesh_files=limits.max_entries,
        max_mesh_bytes=limits.max_entry_bytes,
        max_total_mesh_bytes=limits.max_unpacked_bytes,
        # More vertices than three per triangle are never referenced by any face.
        max_mesh_vertices=3 * limits.max_triangles,
        max_mesh_triangles=limits.max_triangles,
        max_total_triangles=limits.max_triangles,
        max_texture_bytes=limits.max_entry_bytes,
    )
