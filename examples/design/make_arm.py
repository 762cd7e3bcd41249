"""Write `arm.obj`: a base and a two-link arm as three separate closed boxes in one OBJ.

The bodies do not touch (1 cm gaps), so `connected_components` finds them, and each is an
`o` group, so `mesh_groups` names them. Run from anywhere: `python examples/design/make_arm.py`.
"""

from __future__ import annotations

from pathlib import Path

# name: (centre x, y, z), (size x, y, z), in metres
BODIES = {
    "base": ((0.0, 0.0, 0.05), (0.2, 0.2, 0.1)),
    "upper_arm": ((0.0, 0.0, 0.26), (0.05, 0.05, 0.3)),
    "forearm": ((0.0, 0.0, 0.545), (0.04, 0.04, 0.25)),
}
# The 12 triangles of a box over its 8 corners (corner i has bit 0 = +x, 1 = +y, 2 = +z),
# wound counter-clockwise seen from outside.
TRIANGLES = (
    (0, 2, 3), (0, 3, 1),  # -z
    (4, 5, 7), (4, 7, 6),  # +z
    (0, 1, 5), (0, 5, 4),  # -y
    (2, 6, 7), (2, 7, 3),  # +y
    (0, 4, 6), (0, 6, 2),  # -x
    (1, 3, 7), (1, 7, 5),  # +x
)  # fmt: skip


def obj_text() -> str:
    """The OBJ: one `o` group of 8 vertices and 12 triangles per body."""
    lines = ["# QERS design example: base + two-link arm, written by make_arm.py"]
    for index, (name, (centre, size)) in enumerate(BODIES.items()):
        lines.append(f"o {name}")
        for corner in range(8):
            point = [c + (s / 2 if corner >> axis & 1 else -s / 2)
                     for axis, (c, s) in enumerate(zip(centre, size, strict=True))]
            lines.append("v " + " ".join(f"{value:.6f}" for value in point))
        first = 8 * index + 1
        lines.extend("f " + " ".join(str(first + i) for i in tri) for tri in TRIANGLES)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = Path(__file__).with_name("arm.obj")
    target.write_text(obj_text())
    print(f"wrote {target}")
