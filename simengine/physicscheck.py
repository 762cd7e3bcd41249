"""Physical sense of a URDF's inertials and joint limits, which pybullet accepts silently.

A zero mass, an inertia tensor that no body can have (a non-positive or non-symmetric-
definite tensor, or principal moments breaking the triangle inequality) or a joint whose
lower limit exceeds its upper one load without complaint and then make the simulation
explode or freeze. The numbers were already checked to be finite (`urdfcheck`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from simengine.assetbase import AssetRejected

# Principal moments computed by CAD tools are rounded; allow this much relative slack.
_TRIANGLE_SLACK = 1e-3
_LIMITED_JOINTS = frozenset({"revolute", "prismatic"})


def check_inertial(link: ET.Element, label: str) -> None:
    """Reject a link whose <inertial> has a mass <= 0 or an impossible inertia tensor."""
    inertial = link.find("inertial")
    if inertial is None:
        return
    mass = inertial.find("mass")
    if mass is not None and float(mass.get("value", "0")) <= 0:
        raise AssetRejected(f"{label}/inertial/mass@value", "the mass must be > 0 kg")
    inertia = inertial.find("inertia")
    if inertia is None:
        return
    where = f"{label}/inertial/inertia"
    get = {key: float(inertia.get(key, "0")) for key in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")}
    if min(get["ixx"], get["iyy"], get["izz"]) <= 0:
        raise AssetRejected(where, "ixx, iyy and izz must all be > 0")
    tensor = np.array(
        [
            [get["ixx"], get["ixy"], get["ixz"]],
            [get["ixy"], get["iyy"], get["iyz"]],
            [get["ixz"], get["iyz"], get["izz"]],
        ]
    )
    low, mid, high = np.linalg.eigvalsh(tensor)
    if low <= 0:
        raise AssetRejected(
            where, "the inertia tensor is not positive definite (a principal moment is <= 0)"
        )
    if low + mid < high * (1 - _TRIANGLE_SLACK):
        raise AssetRejected(
            where,
            "the principal moments break the triangle inequality (each must be at most the "
            "sum of the other two); no rigid body has this inertia",
        )


def check_limits(joint: ET.Element, label: str) -> None:
    """Reject a revolute or prismatic joint whose lower limit is above its upper one."""
    limit = joint.find("limit")
    if limit is None or joint.get("type") not in _LIMITED_JOINTS:
        return
    lower, upper = limit.get("lower"), limit.get("upper")
    if lower is not None and upper is not None and float(lower) > float(upper):
        raise AssetRejected(
            f"{label}/limit",
            f"the lower limit ({float(lower):g}) is above the upper one ({float(upper):g})",
        )
