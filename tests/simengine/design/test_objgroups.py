"""OBJ groups survive the import, matched to trimesh's triangles by position.

(`simengine.imports.objgroups` and the import's canonical OBJ; kept here with the design
tests because `mesh_groups` depends on them.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from simengine import api
from simengine.imports.objgroups import clean_name, face_groups
from tests.simengine.design.builders import import_mesh, segment
from tests.simengine.imports.builders import box, obj_text

# A unit cube as six quads, corners 1..8 counted from `base`.
QUADS = ((1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4))


def quad_cube(offset: float, base: int) -> list[str]:
    corners = [(x + offset, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in corners]
    return lines + ["f " + " ".join(str(base + i) for i in quad) for quad in QUADS]


def blender_like() -> bytes:
    """Two quad cubes; the second has two materials, and `usemtl` follows each `o`."""
    first, second = quad_cube(0, 0), quad_cube(3, 8)
    lines = ["mtllib scene.mtl", "o Body", *first[:8], "usemtl steel", *first[8:]]
    lines += ["o Lid", *second[:8], "usemtl steel", *second[8:11], "usemtl rubber"]
    lines += [*second[11:], ""]
    return "\n".join(lines).encode()


def test_groups_are_matched_although_trimesh_reorders_quads_and_materials() -> None:
    data = blender_like()
    loaded = trimesh.load_mesh(
        trimesh.util.wrap_as_stream(data), file_type="obj", process=False, maintain_order=True
    )
    if isinstance(loaded, trimesh.Scene):
        loaded = loaded.to_mesh()
    groups = face_groups(data, np.asarray(loaded.vertices), np.asarray(loaded.faces))
    assert groups is not None
    assert groups.names == ("Body", "Lid", "rubber")
    assert np.bincount(groups.labels).tolist() == [12, 6, 6]
    centres = np.asarray(loaded.triangles_center)
    assert (centres[groups.labels == 0][:, 0] < 2).all()
    assert (centres[groups.labels > 0][:, 0] > 2).all()


def test_the_import_keeps_groups_and_mesh_groups_reads_them(tmp_path: Path) -> None:
    asset = import_mesh(tmp_path, blender_like(), "scene.obj")
    canonical = Path(asset["asset_dir"]) / "meshes" / "scene.obj"
    text = canonical.read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line.startswith("g ")] == [
        "g Body",
        "g Lid",
        "g rubber",
    ]
    answer, _ = segment(tmp_path, asset, "mesh_groups")
    assert [(p["name"], p["faces"]) for p in answer["parts"]] == [
        ("Body", 12),
        ("Lid", 6),
        ("rubber", 6),
    ]
    assert answer["parts"][0]["mass_kg"] == pytest.approx(1000.0, rel=1e-9)
    assert answer["parts"][1]["bounding_box"]["min"][0] == pytest.approx(3.0)


def test_an_obj_without_groups_is_written_as_before(tmp_path: Path) -> None:
    vertices, faces = box((0.1, 0.2, 0.3))
    data = b"\n".join(line for line in obj_text((vertices, faces)).split(b"\n")[1:])
    asset = import_mesh(tmp_path, data, "brick.obj")
    written = (Path(asset["asset_dir"]) / "meshes" / "brick.obj").read_text(encoding="ascii")
    expected = "# written by the QERS asset import\n"
    expected += "".join(f"v {x:.17g} {y:.17g} {z:.17g}\n" for x, y, z in vertices)
    expected += "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in faces)
    assert written == expected


def test_groups_that_do_not_match_are_dropped_with_a_warning(tmp_path: Path) -> None:
    # Negative indices count back from the vertices read so far; trimesh counts from the
    # last vertex of the file, so the two readings differ and the groups cannot be kept.
    lines = []
    for number, (vertices, faces) in enumerate((box((1, 1, 1)), box((1, 1, 1), (3, 0, 0)))):
        lines.append(f"o part{number}")
        lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in vertices.tolist()]
        lines += [f"f {a - 8} {b - 8} {c - 8}" for a, b, c in faces.tolist()]
    source = tmp_path / "upload"
    source.write_bytes("\n".join(lines).encode())
    work = tmp_path / "work"
    work.mkdir()
    result = api.import_asset(
        {"source": str(source), "filename": "neg.obj", "work_dir": str(work), "check_steps": 0}
    )
    assert any("groups of mesh" in w and "were dropped" in w for w in result["warnings"])
    assert "\ng " not in (work / "meshes" / "neg.obj").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  left   arm ", "left arm"),
        ("a\x01b\x7fc", "a_b_c"),
        ("", "default"),
        ("x" * 200, "x" * 128),
        ("Körper", "Körper"),
    ],
)
def test_group_names_are_single_clean_lines(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean
