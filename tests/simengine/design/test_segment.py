"""Connected components and OBJ groups of one-mesh assets, counted before anything is
written; each part's mass, centre and inertia checked against a box's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from simengine import api
from simengine.assetbase import AssetRejected
from simengine.design.segment import SegmentStopped
from simengine.errors import InvalidConfig
from tests.simengine.design.builders import (
    box_tensor,
    files_under,
    import_mesh,
    segment,
    write_urdf_asset,
)
from tests.simengine.imports.builders import box, obj_text, stl_binary

SMALL = (0.1, 0.2, 0.3)
CUBE = (0.2, 0.2, 0.2)


def two_boxes(second_low: tuple[float, float, float]) -> bytes:
    return obj_text(box(SMALL), box(CUBE, low=second_low))


def test_two_disjoint_boxes_are_two_parts_with_exact_box_inertia(tmp_path: Path) -> None:
    asset = import_mesh(tmp_path, two_boxes((1.0, 0.5, 0.0)), "blocks.obj")
    result, out = segment(tmp_path, asset, "connected_components")
    assert (result["found"], result["warnings"]) == (2, [])
    first, second = result["parts"]
    assert [first["name"], second["name"]] == ["component_000", "component_001"]
    for part, size, low in ((first, SMALL, (0, 0, 0)), (second, CUBE, (1.0, 0.5, 0.0))):
        volume = size[0] * size[1] * size[2]
        assert part["volume_m3"] == pytest.approx(volume, rel=1e-9)
        assert part["mass_kg"] == pytest.approx(1000 * volume, rel=1e-9)
        assert part["mass_kg"] == pytest.approx(1000 * part["volume_m3"], rel=1e-12)
        centre = np.add(low, np.divide(size, 2))
        assert part["centroid_m"] == pytest.approx(centre.tolist(), abs=1e-12)
        expected = box_tensor(part["mass_kg"], *size)
        np.testing.assert_allclose(part["inertia_kg_m2"], expected, rtol=0, atol=1e-12)
        assert part["bounding_box"] == {
            "min": pytest.approx(list(low)),
            "max": pytest.approx((np.add(low, size)).tolist()),
        }
        assert (part["faces"], part["vertices"], part["watertight"]) == (12, 8, True)
        assert (part["inertia_source"], part["hulls"]) == ("mesh", [])
    assert set(files_under(out)) == {"parts/000_component_000.obj", "parts/001_component_001.obj"}
    written = trimesh.load(out / second["mesh_file"], process=False, maintain_order=True)
    np.testing.assert_allclose(written.bounds, [[1.0, 0.5, 0.0], [1.2, 0.7, 0.2]], atol=1e-15)
    text = (out / second["mesh_file"]).read_text(encoding="ascii")
    assert {line.split()[0] for line in text.splitlines()} == {"v", "f"}


def test_touching_boxes_stay_two_parts(tmp_path: Path) -> None:
    # The cube's face x = 0.1 lies on the small box's face at the same positions.
    asset = import_mesh(tmp_path, two_boxes((0.1, 0.0, 0.0)), "touching.obj")
    result, _ = segment(tmp_path, asset, "connected_components")
    assert [p["name"] for p in result["parts"]] == ["component_000", "component_001"]
    assert [p["mass_kg"] for p in result["parts"]] == pytest.approx([6.0, 8.0], rel=1e-9)


def test_an_open_component_is_weighed_by_its_hull_with_a_warning(tmp_path: Path) -> None:
    vertices, faces = box(SMALL)
    opened = (vertices, faces[:-2])  # the face z = 0.3 is missing
    asset = import_mesh(tmp_path, obj_text(box(CUBE, low=(1, 0, 0)), opened), "open.obj")
    result, _ = segment(tmp_path, asset, "connected_components")
    closed, open_part = result["parts"]
    assert (closed["inertia_source"], closed["watertight"]) == ("mesh", True)
    assert (open_part["inertia_source"], open_part["watertight"]) == ("hull", False)
    assert open_part["mass_kg"] == pytest.approx(6.0, rel=1e-9)  # its hull is the box
    assert open_part["faces"] == 10
    assert len(result["warnings"]) == 1
    assert "'component_001'" in result["warnings"][0]
    assert "not watertight" in result["warnings"][0]


def test_too_many_parts_are_counted_and_nothing_is_written(tmp_path: Path) -> None:
    meshes = [box((0.1, 0.1, 0.1), low=(float(i), 0, 0)) for i in range(5)]
    asset = import_mesh(tmp_path, obj_text(*meshes), "row.obj")
    for method in ("connected_components", "convex_decomposition", "mesh_groups"):
        result, out = segment(tmp_path, asset, method, out=method, max_parts=4)
        assert result == {"parts": [], "warnings": [], "found": 5}
        assert list(out.iterdir()) == []


def test_mesh_groups_follow_the_obj_objects_in_order(tmp_path: Path) -> None:
    base, arm = box((0.2, 0.2, 0.1)), box((0.05, 0.05, 0.3), low=(0.075, 0.075, 0.1))
    data = obj_text(base, arm).replace(b"o body1", b"o base").replace(b"o body2", b"o arm")
    asset = import_mesh(tmp_path, data, "robot.obj")
    result, out = segment(tmp_path, asset, "mesh_groups")
    assert [p["name"] for p in result["parts"]] == ["base", "arm"]
    assert [p["mesh_file"] for p in result["parts"]] == ["parts/000_base.obj", "parts/001_arm.obj"]
    assert [p["mass_kg"] for p in result["parts"]] == pytest.approx([4.0, 0.75], rel=1e-9)
    assert result["parts"][1]["bounding_box"]["min"] == pytest.approx([0.075, 0.075, 0.1])
    assert set(files_under(out)) == {"parts/000_base.obj", "parts/001_arm.obj"}


def test_group_names_are_cleaned_and_made_unique(tmp_path: Path) -> None:
    data = obj_text(*(box((0.1, 0.1, 0.1), low=(float(i), 0, 0)) for i in range(3)))
    data = data.replace(b"o body1", b"g wheel").replace(b"o body2", b"g wheel")
    data = data.replace(b"o body3", b"usemtl  shiny\tred ")
    asset = import_mesh(tmp_path, data, "wheels.obj")
    result, _ = segment(tmp_path, asset, "mesh_groups")
    assert [p["name"] for p in result["parts"]] == ["wheel", "wheel_2", "shiny red"]
    assert [p["mesh_file"] for p in result["parts"]] == [
        "parts/000_wheel.obj",
        "parts/001_wheel_2.obj",
        "parts/002_shiny_red.obj",
    ]


def test_mesh_groups_needs_an_obj_with_groups(tmp_path: Path) -> None:
    plain, stl = tmp_path / "plain", tmp_path / "stl"
    plain.mkdir()
    stl.mkdir()
    lines = two_boxes((1, 0, 0)).split(b"\n")
    ungrouped = b"\n".join(line for line in lines if not line.startswith(b"o "))
    with pytest.raises(AssetRejected) as caught:
        segment(plain, import_mesh(plain, ungrouped, "plain.obj"), "mesh_groups")
    assert caught.value.element == "method"
    assert caught.value.detail == (
        "method 'mesh_groups' needs an OBJ mesh with o/g/usemtl groups; this asset has none "
        "(try 'connected_components')"
    )
    assert str(tmp_path) not in str(caught.value)
    with pytest.raises(AssetRejected, match="this asset's mesh is STL"):
        segment(stl, import_mesh(stl, stl_binary(*box(SMALL)), "part.stl"), "mesh_groups")


def test_one_mesh_methods_refuse_an_asset_of_several_links(tmp_path: Path) -> None:
    links = "".join(
        f'<link name="l{i}"><collision><geometry><box size="0.1 0.1 0.1"/></geometry>'
        "</collision></link>"
        for i in range(3)
    )
    joints = "".join(
        f'<joint name="j{i}" type="fixed"><parent link="l0"/><child link="l{i}"/></joint>'
        for i in (1, 2)
    )
    asset = write_urdf_asset(tmp_path / "asset", f'<robot name="r">{links}{joints}</robot>', {})
    for method in ("connected_components", "mesh_groups", "convex_decomposition"):
        with pytest.raises(AssetRejected) as caught:
            segment(tmp_path, asset, method, out=method)
        assert caught.value.detail == (
            f"method '{method}' needs an asset made of one mesh; this asset has 3 links "
            "(try 'links')"
        )


def test_one_mesh_methods_refuse_a_primitive_and_place_a_lone_mesh(tmp_path: Path) -> None:
    boxed = '<robot name="r"><link name="l"><collision><geometry><box size="1 1 1"/>'
    boxed += "</geometry></collision></link></robot>"
    asset = write_urdf_asset(tmp_path / "boxed", boxed, {})
    with pytest.raises(AssetRejected) as caught:
        segment(tmp_path, asset, "connected_components", out="boxed_out")
    assert caught.value.detail == (
        "method 'connected_components' needs an asset made of one mesh; its link's shape is "
        "a box (try 'links')"
    )
    # One mesh, scaled and placed by its <origin>: the parts are in the asset frame.
    shape = '<geometry><mesh filename="meshes/blocks.obj" scale="2 2 2"/></geometry>'
    placed = f'<robot name="r"><link name="l"><visual><origin xyz="0 0 1"/>{shape}</visual>'
    placed += "</link></robot>"
    asset = write_urdf_asset(tmp_path / "placed", placed, {"blocks.obj": two_boxes((1, 0, 0))})
    result, _ = segment(tmp_path, asset, "connected_components")
    first, second = result["parts"]
    assert first["bounding_box"] == {"min": [0.0, 0.0, 1.0], "max": pytest.approx([0.2, 0.4, 1.6])}
    assert second["bounding_box"]["min"] == pytest.approx([2.0, 0.0, 1.0])
    assert first["mass_kg"] == pytest.approx(8 * 6.0, rel=1e-9)


def test_same_request_gives_the_same_bytes(tmp_path: Path) -> None:
    asset = import_mesh(tmp_path, two_boxes((0.1, 0.0, 0.0)), "touching.obj")
    first, out_a = segment(tmp_path, asset, "connected_components", out="a")
    second, out_b = segment(tmp_path, asset, "connected_components", out="b")
    assert first == second
    assert files_under(out_a) == files_under(out_b) != {}


def test_progress_is_reported_and_a_stop_is_honoured(tmp_path: Path) -> None:
    asset = import_mesh(tmp_path, two_boxes((1, 0, 0)), "blocks.obj")
    seen: list[tuple[int, int]] = []
    out = tmp_path / "out"
    out.mkdir()
    job = {**asset, "method": "connected_components", "out_dir": str(out), "max_parts": 8}
    api.segment_asset(job, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    with pytest.raises(SegmentStopped, match="the segmentation was stopped before part 1 of 2"):
        api.segment_asset({**job, "out_dir": str(stopped)}, should_stop=lambda: True)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"method": "voxels"}, "method"),
        ({"density_kg_m3": 0}, "density_kg_m3"),
        ({"max_parts": 0}, "max_parts"),
        ({"decomposition": {"threshold": 2.0}}, "decomposition.threshold"),
        ({"decomposition": {"max_hulls": 300}}, "decomposition.max_hulls"),
        ({"asset_dir": "relative/path"}, "asset_dir"),
    ],
)
def test_a_malformed_job_is_a_config_error(
    tmp_path: Path, change: dict[str, object], field: str
) -> None:
    asset = import_mesh(tmp_path, two_boxes((1, 0, 0)), "blocks.obj")
    method = str(change.get("method", "links"))
    job = {key: value for key, value in change.items() if key != "method"}
    with pytest.raises(InvalidConfig) as caught:
        segment(tmp_path, asset, method, **job)
    assert caught.value.field == field


def test_out_dir_must_be_empty(tmp_path: Path) -> None:
    asset = import_mesh(tmp_path, two_boxes((1, 0, 0)), "blocks.obj")
    out = tmp_path / "out"
    out.mkdir()
    (out / "left_over").write_text("x")
    with pytest.raises(InvalidConfig, match="out_dir"):
        api.segment_asset({**asset, "method": "links", "out_dir": str(out)})
