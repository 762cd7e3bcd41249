"""Method `convex_decomposition`: CoACD cuts a closed, non-convex body into convex hulls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from simengine.design.bodies import hulls_body
from simengine.design.meshes import Mesh
from tests.simengine.design.builders import (
    L_VOLUME,
    box_tensor,
    files_under,
    import_mesh,
    l_prism,
    segment,
)
from tests.simengine.imports.builders import box, obj_text

# CoACD's hulls of the L (measured: 1.49986e-3 against 1.5e-3 m^3, 0.01 % short).
HULL_VOLUME_TOLERANCE = 0.01


@pytest.fixture
def l_asset(tmp_path: Path) -> dict[str, object]:
    return import_mesh(tmp_path, obj_text(l_prism()), "ell.obj")


def test_an_l_is_cut_into_convex_hulls_that_fill_it(
    tmp_path: Path, l_asset: dict[str, object]
) -> None:
    answer, out = segment(tmp_path, l_asset, "convex_decomposition")
    (part,) = answer["parts"]
    assert answer["warnings"] == []
    # Closed, so the mass is the L's own, exactly.
    assert (part["inertia_source"], part["watertight"]) == ("mesh", True)
    assert part["volume_m3"] == pytest.approx(L_VOLUME, rel=1e-9)
    assert part["mass_kg"] == pytest.approx(1000 * L_VOLUME, rel=1e-9)
    hulls = part["hulls"]
    assert len(hulls) >= 2
    assert [h["mesh_file"] for h in hulls] == [
        f"parts/000_hull_{i:02d}.obj" for i in range(len(hulls))
    ]
    total = sum(h["volume_m3"] for h in hulls)
    assert total == pytest.approx(L_VOLUME, rel=HULL_VOLUME_TOLERANCE)
    for hull in hulls:
        mesh = trimesh.load(out / hull["mesh_file"], process=False, maintain_order=True)
        assert (len(mesh.faces), len(mesh.vertices)) == (hull["faces"], hull["vertices"])
        assert mesh.volume == pytest.approx(hull["volume_m3"], rel=1e-9)  # wound outwards
        assert mesh.convex_hull.volume == pytest.approx(mesh.volume, rel=1e-9)  # convex
        # Inside the L's box, in the asset frame.
        assert np.all(mesh.bounds[0] >= -1e-6)
        assert np.all(mesh.bounds[1] <= np.array([0.2, 0.2, 0.05]) + 1e-6)


def test_the_decomposition_is_deterministic(tmp_path: Path, l_asset: dict[str, object]) -> None:
    first, out_a = segment(tmp_path, l_asset, "convex_decomposition", out="a")
    second, out_b = segment(tmp_path, l_asset, "convex_decomposition", out="b")
    assert first == second
    files = files_under(out_a)
    assert files == files_under(out_b)
    assert len(files) == 1 + len(first["parts"][0]["hulls"])


def test_max_hulls_caps_the_hulls(tmp_path: Path, l_asset: dict[str, object]) -> None:
    capped = {"threshold": 0.01, "max_hulls": 1, "seed": 0}
    answer, _ = segment(tmp_path, l_asset, "convex_decomposition", decomposition=capped)
    assert len(answer["parts"][0]["hulls"]) == 1


def test_an_open_body_weighs_as_its_convex_hull_not_as_its_hulls() -> None:
    # CoACD's hulls of an open surface are a thin shell: the mass comes from the convex
    # hull of the surface (here the whole 0.1 x 0.2 x 0.3 box), the hulls stay collision.
    left, right = box((0.1, 0.2, 0.3)), box((0.1, 0.2, 0.3), low=(0.1, 0, 0))
    hulls = [Mesh.of(*left), Mesh.of(*right)]
    vertices, faces = left
    opened = Mesh.of(vertices, faces[:-2])
    built = hulls_body(opened, hulls, density=500.0, name="shell")
    assert (built.source, built.watertight) == ("hull", False)
    assert len(built.hulls) == 2
    assert built.solid.mass == pytest.approx(500 * 0.006, rel=1e-12)
    assert built.solid.centroid == pytest.approx([0.05, 0.1, 0.15])
    expected = box_tensor(built.solid.mass, 0.1, 0.2, 0.3)
    np.testing.assert_allclose(built.solid.tensor, expected, rtol=0, atol=1e-15)
    assert built.warnings == [
        "part 'shell' is not watertight; its volume, mass and inertia come from its convex "
        "hull (0.006 m^3)"
    ]
