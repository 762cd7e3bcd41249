from __future__ import annotations

import pytest

from simengine.assetbase import AssetRejected
from simengine.imports.limits import ImportLimits, asset_limits


def test_defaults() -> None:
    limits = ImportLimits.from_dict(None)
    assert limits == ImportLimits()
    assert (limits.max_unpacked_bytes, limits.max_entries) == (512 * 1024 * 1024, 2000)
    assert (limits.max_entry_bytes, limits.max_compression_ratio) == (256 * 1024 * 1024, 200)
    assert (limits.max_triangles, limits.max_links) == (2_000_000, 256)


def test_from_dict_overrides_only_the_given_keys() -> None:
    limits = ImportLimits.from_dict({"max_entries": 5, "max_compression_ratio": 50.5})
    assert limits == ImportLimits(max_entries=5, max_compression_ratio=50.5)
    with pytest.raises(AttributeError):
        limits.max_entries = 6  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ({"max_files": 1}, "unknown limit"),
        ({"max_entries": 0}, "positive"),
        ({"max_entries": True}, "positive"),
        ({"max_triangles": "many"}, "positive"),
    ],
)
def test_from_dict_rejects_bad_values(raw: dict[str, object], text: str) -> None:
    with pytest.raises(AssetRejected, match=text):
        ImportLimits.from_dict(raw)


def test_asset_limits_follow_the_import_limits() -> None:
    checks = asset_limits(ImportLimits(max_triangles=10, max_links=3))
    assert (checks.max_mesh_triangles, checks.max_total_triangles) == (10, 10)
    assert (checks.max_links, checks.max_joints) == (3, 3)
