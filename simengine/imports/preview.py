"""A small picture of a stored robot, rendered by pybullet's CPU renderer (no display)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pybullet as p

from simengine.assetbase import AssetRejected
from simengine.assets import check_urdf
from simengine.errors import InvalidConfig
from simengine.imports.limits import ImportLimits, asset_limits
from simengine.imports.png import write_png
from simengine.types import JSONDict

MAX_SIDE_PX = 2048
FOV_DEG = 45.0
YAW_DEG, PITCH_DEG = 45.0, -30.0


def render_preview(job: dict[str, Any]) -> JSONDict:
    """Render the URDF `job["urdf"]` into the PNG `job["out"]`.

    Args:
        job: {"urdf": absolute path of a canonical URDF, "out": absolute path of the PNG
            to write, "width": 320, "height": 240}.

    Returns:
        {"width", "height", "bytes": size of the PNG}.

    Raises:
        InvalidConfig: a field of the job is wrong.
        AssetRejected: the URDF fails the pre-checks or pybullet cannot load it.
    """
    urdf, out = Path(job.get("urdf", "")), Path(job.get("out", ""))
    if not urdf.is_absolute() or not out.is_absolute():
        raise InvalidConfig("urdf", "urdf and out must be absolute paths")
    width, height = _side(job, "width", 320), _side(job, "height", 240)
    # Stored assets were imported under the import's limits, larger than a run's defaults.
    checked = check_urdf(urdf, root=urdf.parent, limits=asset_limits(ImportLimits())).path
    client = p.connect(p.DIRECT)
    try:
        try:
            body = p.loadURDF(str(checked), useFixedBase=True, physicsClientId=client)
        except p.error:
            raise AssetRejected("urdf", "pybullet could not load it") from None
        low, high = _bounds(body, client)
        center = (low + high) / 2
        radius = max(float(np.linalg.norm(high - low)) / 2, 1e-3)
        distance = radius / math.sin(math.radians(FOV_DEG) / 2)
        view = p.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=center.tolist(),
            distance=distance,
            yaw=YAW_DEG,
            pitch=PITCH_DEG,
            roll=0,
            upAxisIndex=2,
        )
        projection = p.computeProjectionMatrixFOV(
            fov=FOV_DEG, aspect=width / height, nearVal=distance / 100, farVal=distance * 10
        )
        _, _, rgba, _, _ = p.getCameraImage(
            width,
            height,
            viewMatrix=view,
            projectionMatrix=projection,
            renderer=p.ER_TINY_RENDERER,
            physicsClientId=client,
        )
    finally:
        p.disconnect(physicsClientId=client)
    pixels = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]
    size = write_png(out, np.ascontiguousarray(pixels))
    return {"width": width, "height": height, "bytes": size}


def _bounds(body: int, client: int) -> tuple[Any, Any]:
    boxes = [
        p.getAABB(body, link, physicsClientId=client)
        for link in range(-1, p.getNumJoints(body, physicsClientId=client))
    ]
    low = np.min([box[0] for box in boxes], axis=0)
    high = np.max([box[1] for box in boxes], axis=0)
    return low, high


def _side(job: dict[str, Any], key: str, default: int) -> int:
    value = job.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIDE_PX:
        raise InvalidConfig(key, f"must be an integer in 1..{MAX_SIDE_PX}")
    return value
