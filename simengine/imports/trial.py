"""The import's trial: the canonical URDF loaded in pybullet on a plane and stepped."""

from __future__ import annotations

import math
from pathlib import Path

import pybullet as p
import pybullet_data

from simengine.assetbase import AssetRejected
from simengine.types import JSONDict

GRAVITY_M_S2 = -9.81
# A drift this large (or a non-finite one) is reported as this, keeping the result JSON.
MAX_DRIFT_M = 1e9
# How far above the plane the lowest point of the robot starts.
CLEARANCE_M = 0.001


def trial(urdf: Path, *, steps: int, lowest_z: float) -> JSONDict:
    """Load `urdf` (already checked) standing on a plane and step it `steps` times.

    Args:
        urdf: the canonical URDF.
        steps: physics steps at pybullet's default 240 Hz.
        lowest_z: the lowest point of its geometry in the root link's frame, so that the
            robot starts just above the plane.

    Returns:
        The AssetCheck dict: {"loaded", "steps", "finite", "base_drift_m"}.

    Raises:
        AssetRejected: pybullet could not load the URDF.
    """
    client = p.connect(p.DIRECT)
    try:
        p.setGravity(0, 0, GRAVITY_M_S2, physicsClientId=client)
        p.loadURDF(str(Path(pybullet_data.getDataPath()) / "plane.urdf"), physicsClientId=client)
        try:
            body = p.loadURDF(
                str(urdf),
                basePosition=[0, 0, CLEARANCE_M - lowest_z],
                flags=p.URDF_USE_INERTIA_FROM_FILE,
                physicsClientId=client,
            )
        except p.error as error:
            raise AssetRejected("urdf", f"pybullet could not load it: {_safe(error)}") from None
        start, _ = p.getBasePositionAndOrientation(body, physicsClientId=client)
        for _ in range(steps):
            p.stepSimulation(physicsClientId=client)
        end, orientation = p.getBasePositionAndOrientation(body, physicsClientId=client)
        values = [*start, *end, *orientation]
        for velocity in p.getBaseVelocity(body, physicsClientId=client):
            values += velocity
        for joint in range(p.getNumJoints(body, physicsClientId=client)):
            position, speed, *_ = p.getJointStateMultiDof(body, joint, physicsClientId=client)
            values += [*position, *speed]
        finite = all(math.isfinite(value) for value in values)
        drift = math.dist(start, end)
        return {
            "loaded": True,
            "steps": steps,
            "finite": finite,
            "base_drift_m": min(drift, MAX_DRIFT_M) if math.isfinite(drift) else MAX_DRIFT_M,
        }
    finally:
        p.disconnect(physicsClientId=client)


def _safe(error: Exception) -> str:
    """pybullet's message, unless it could name a server path."""
    text = str(error).strip()
    return text if text and "/" not in text and "\\" not in text else "it reported an error"
