"""A small arm made of boxes: parts as a segmentation gives them, and requests linking them.

Asset frame: the base (0.2 x 0.2 x 0.1 m) stands on z = 0, the upper arm (0.05 x 0.05 x
0.3 m) stands on the base and the forearm (0.05 x 0.05 x 0.25 m) on the upper arm.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np

DENSITY_KG_M3 = 1000.0
# name -> (lower corner, upper corner) in the asset frame
BOXES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "base": ((-0.1, -0.1, 0.0), (0.1, 0.1, 0.1)),
    "upper_arm": ((-0.025, -0.025, 0.1), (0.025, 0.025, 0.4)),
    "forearm": ((-0.025, -0.025, 0.4), (0.025, 0.025, 0.65)),
}
# Box faces as corner indices (bit 0: x, bit 1: y, bit 2: z), counter-clockwise seen from
# outside.
_FACES = (
    (0, 2, 3, 1),
    (4, 5, 7, 6),
    (0, 1, 5, 4),
    (2, 6, 7, 3),
    (0, 4, 6, 2),
    (1, 3, 7, 5),
)


def box_part(
    name: str, low: tuple[float, float, float], high: tuple[float, float, float], index: int = 0
) -> dict[str, Any]:
    """A part shaped like a solid box between `low` and `high`, as a segmentation has it."""
    size = np.subtract(high, low)
    mass = DENSITY_KG_M3 * float(np.prod(size))
    x, y, z = size**2
    inertia = np.diag([y + z, x + z, x + y]) * mass / 12
    return {
        "name": name,
        "mass_kg": mass,
        "centroid_m": ((np.add(low, high)) / 2).tolist(),
        "inertia_kg_m2": inertia.tolist(),
        "inertia_source": "mesh",
        "mesh_file": f"parts/{index:03d}_{name}.obj",
        "hulls": [],
        "bounding_box": {"min": list(low), "max": list(high)},
    }


def arm_parts() -> dict[str, dict[str, Any]]:
    """The base, upper arm and forearm."""
    return {
        name: box_part(name, low, high, index)
        for index, (name, (low, high)) in enumerate(BOXES.items())
    }


def arm_request() -> dict[str, Any]:
    """Shoulder and elbow, both revolute; the link frames are turned, not the asset's."""
    return copy.deepcopy(
        {
            "segmentation_id": "seg_0123456789abcdef01234567",
            "robot_name": "arm",
            "root": "base",
            "joints": [
                {
                    "name": "shoulder",
                    "type": "revolute",
                    "parent": "base",
                    "child": "upper_arm",
                    "origin": {"xyz": [0.0, 0.0, 0.1], "rpy": [0.0, 0.0, math.pi / 2]},
                    "axis": [1.0, 0.0, 0.0],
                    "limit": {"lower": -0.5, "upper": 0.5, "effort": 50.0, "velocity": 2.0},
                },
                {
                    "name": "elbow",
                    "type": "revolute",
                    "parent": "upper_arm",
                    "child": "forearm",
                    "origin": {"xyz": [0.0, 0.0, 0.3], "rpy": [0.3, 0.0, 0.0]},
                    "axis": [0.0, 1.0, 0.0],
                    "limit": {"lower": -0.8, "upper": 0.8, "effort": 20.0, "velocity": 2.0},
                    "dynamics": {"damping": 0.1, "friction": 0.0},
                },
            ],
        }
    )


def write_box_obj(
    path: Path, low: tuple[float, float, float], high: tuple[float, float, float]
) -> None:
    """A closed box mesh in asset coordinates."""
    corners = [
        (high[0] if i & 1 else low[0], high[1] if i & 2 else low[1], high[2] if i & 4 else low[2])
        for i in range(8)
    ]
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in corners]
    for a, b, c, d in _FACES:
        lines += [f"f {a + 1} {b + 1} {c + 1}", f"f {a + 1} {c + 1} {d + 1}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
