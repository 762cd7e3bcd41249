"""Units, joints and the kinematic tree of a USD stage (pxr).

Rigid bodies and joints come from pxr's UsdPhysics parser; each body becomes a URDF link
whose frame is placed here; `usdgeometry` and `usdmass` add its geometry and mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from pxr import Sdf, Usd, UsdGeom, UsdPhysics

from simengine.assetbase import AssetRejected, quoted
from simengine.imports.limits import ImportLimits
from simengine.imports.names import robot_name as safe_name
from simengine.imports.usdmath import Piece, column_matrix, pose_matrix, rigid_frame
from simengine.types import FloatArray

# A Y-up stage turns +90 degrees about X, so that its +Y becomes +Z.
_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_FRAME_SLACK_M, _FRAME_SLACK_RAD = 1e-4, 1e-3


@dataclass(frozen=True, slots=True)
class Units:
    metres: float  # per stage unit
    kilograms: float  # per stage mass unit
    up: FloatArray  # stage axes -> Z-up axes


@dataclass(frozen=True, slots=True)
class Joint:
    path: str
    kind: str  # revolute, prismatic or fixed
    parent: str | None  # body paths; None is the world
    child: str | None
    pose0: FloatArray  # the joint frame in each body's frame, stage units
    pose1: FloatArray
    axis: str
    lower: float
    upper: float
    force_limit: float


@dataclass(frozen=True, slots=True)
class Scene:
    bodies: list[str]  # in stage order
    joints: list[Joint]
    geometry: list[Any]  # Gprims under a body


def stage_units(stage: Any, warnings: list[str]) -> Units:
    metres = float(UsdGeom.GetStageMetersPerUnit(stage))
    kilograms = float(UsdPhysics.GetStageKilogramsPerUnit(stage))
    for key, value in (("metersPerUnit", metres), ("kilogramsPerUnit", kilograms)):
        if not (math.isfinite(value) and value > 0):
            raise AssetRejected(f"stage {key}", "must be a positive number")
    up = str(UsdGeom.GetStageUpAxis(stage))
    for key, fallback in (("metersPerUnit", f"{metres:g}"), ("upAxis", up)):
        if not stage.HasAuthoredMetadata(key):
            warnings.append(f"the stage does not author {key}; USD's fallback {fallback} applies")
    return Units(metres, kilograms, _Y_UP if up == "Y" else np.eye(3))


def read_scene(stage: Any, *, limits: ImportLimits, warnings: list[str]) -> Scene:
    types = UsdPhysics.ObjectType
    kinds = {types.RevoluteJoint: "revolute", types.PrismaticJoint: "prismatic"}
    kinds |= {types.FixedJoint: "fixed", types.SphericalJoint: "spherical"}
    kinds |= {types.D6Joint: "D6", types.DistanceJoint: "distance", types.CustomJoint: "custom"}
    parsed = UsdPhysics.UsdPhysicsLoadStageFromPrimRange(stage, [Sdf.Path.absoluteRootPath])
    body_paths = {str(path) for path in parsed.get(types.RigidBody, ([], []))[0]}
    descs: dict[str, tuple[str, Any]] = {}
    for kind, name in kinds.items():
        for path, desc in zip(*parsed.get(kind, ([], [])), strict=True):
            descs[str(path)] = (name, desc)
    bodies: list[str] = []
    joints: list[Joint] = []
    geometry: list[Any] = []
    loose: list[str] = []
    for prim in Usd.PrimRange(stage.GetPseudoRoot(), Usd.TraverseInstanceProxies()):
        path = str(prim.GetPath())
        if path in body_paths:
            bodies.append(path)
            if len(bodies) > limits.max_links:
                raise AssetRejected(path, f"more rigid bodies than {limits.max_links} links")
        if prim.IsA(UsdPhysics.Joint):
            joint = _joint(stage, prim, descs.get(path), warnings)
            if joint is not None:
                joints.append(joint)
        elif prim.IsA(UsdGeom.Gprim):
            if owner_body(prim.GetPath(), body_paths) is None:
                loose.append(path)
            elif UsdGeom.Imageable(prim).ComputePurpose() != UsdGeom.Tokens.guide:
                geometry.append(prim)
    if not bodies:
        raise AssetRejected("stage", "no rigid body: apply PhysicsRigidBodyAPI to each link")
    if loose:
        warnings.append(
            f"{len(loose)} geometry prim(s) under no rigid body were left out "
            f"(e.g. {quoted(loose[0])})"
        )
    return Scene(bodies, joints, geometry)


def _joint(
    stage: Any, prim: Any, parsed: tuple[str, Any] | None, warnings: list[str]
) -> Joint | None:
    path = str(prim.GetPath())
    if parsed is None:
        raise AssetRejected(path, "the joint could not be read; check physics:body0/body1")
    kind, desc = parsed
    if kind not in ("revolute", "prismatic", "fixed"):
        hint = " (a generic PhysicsJoint)" if kind == "D6" else ""
        raise AssetRejected(
            path, f"{kind} joints{hint} are not supported; use revolute, prismatic or fixed"
        )
    if not desc.jointEnabled:
        warnings.append(f"joint {quoted(path)} is disabled and was left out")
        return None
    api = UsdPhysics.Joint(prim)
    bodies = [
        _joint_body(stage, path, desc.body0, api.GetBody0Rel(), "physics:body0"),
        _joint_body(stage, path, desc.body1, api.GetBody1Rel(), "physics:body1"),
    ]
    limit = getattr(desc, "limit", None)
    drive = getattr(desc, "drive", None)
    return Joint(
        path=path,
        kind=kind,
        parent=bodies[0],
        child=bodies[1],
        pose0=pose_matrix(desc.localPose0Position, desc.localPose0Orientation),
        pose1=pose_matrix(desc.localPose1Position, desc.localPose1Orientation),
        axis=str(getattr(desc, "axis", "X")),
        lower=float(limit.lower) if limit is not None and limit.enabled else -math.inf,
        upper=float(limit.upper) if limit is not None and limit.enabled else math.inf,
        force_limit=float(drive.forceLimit) if drive is not None and drive.enabled else math.inf,
    )


def _joint_body(stage: Any, joint: str, body: Any, rel: Any, label: str) -> str | None:
    if not body.isEmpty:
        return str(body)
    targets = rel.GetTargets()
    if targets and not stage.GetPrimAtPath(targets[0]).IsValid():
        raise AssetRejected(joint, f"{label} names {quoted(str(targets[0]))}, not on the stage")
    return None  # nothing, or a prim without a rigid body: the world


def kinematic_tree(
    bodies: list[str], joints: list[Joint], warnings: list[str]
) -> list[tuple[str, Joint | None]]:
    """Every body once, the root first and parents before children, with its parent joint."""
    parent_joint: dict[str, Joint] = {}
    grounded: list[tuple[str, Joint]] = []
    for joint in joints:
        if joint.parent is None or joint.child is None:
            body = joint.child or joint.parent
            if body is None:
                raise AssetRejected(joint.path, "the joint names no rigid body")
            grounded.append((body, joint))
        elif joint.parent == joint.child:
            raise AssetRejected(joint.path, "the joint joins a body to itself")
        elif joint.child in parent_joint:
            other = parent_joint[joint.child].path
            raise AssetRejected(
                joint.path,
                f"kinematic loop: {quoted(joint.child)} is already the child of joint "
                f"{quoted(other)}; a URDF must be a tree",
            )
        else:
            parent_joint[joint.child] = joint
    for body in bodies:
        seen, node = {body}, body
        while node in parent_joint:
            node = parent_joint[node].parent or ""
            if node in seen:
                raise AssetRejected(parent_joint[node].path, "kinematic loop: not a tree")
            seen.add(node)
    for body, joint in grounded:
        if body in parent_joint or body != grounded[0][0]:
            raise AssetRejected(
                joint.path, "kinematic loop through the world: the body has another parent"
            )
        warnings.append(
            f"joint {quoted(joint.path)} attaches {quoted(body)} to the world: it is the root "
            "link and the joint was left out; load the robot with a fixed base"
        )
    root = grounded[0][0] if grounded else next(b for b in bodies if b not in parent_joint)
    children: dict[str, list[str]] = {}
    for body in bodies:
        if body in parent_joint:
            children.setdefault(parent_joint[body].parent or "", []).append(body)
    order: list[tuple[str, Joint | None]] = [(root, None)]
    for body, _ in order:  # grows while it is read: breadth first
        order.extend((child, parent_joint[child]) for child in children.get(body, []))
    if len(order) != len(bodies):
        reached = {body for body, _ in order}
        loose = [body for body in bodies if body not in reached]
        listing = ", ".join(quoted(body) for body in loose[:8])
        raise AssetRejected(
            loose[0],
            f"not connected by joints to the root body {quoted(root)} (unconnected: "
            f"{listing}); every rigid body must be reached through joints",
        )
    return order


@dataclass(slots=True)
class Link:
    name: str
    body: str
    frame: FloatArray  # the body's rigid frame in the stage (stage units, no scale)
    adjust: FloatArray  # body frame (metres) -> URDF link frame
    pieces: list[Piece] = field(default_factory=list)  # written to the link's OBJ
    shapes: list[tuple[str, dict[str, str], FloatArray]] = field(default_factory=list)
    solids: list[Piece] = field(default_factory=list)  # everything, for the mass


class Names:
    """Distinct URDF names of letters, digits and `_` (compared case-insensitively)."""

    def __init__(self, fallback: str) -> None:
        self._fallback, self._taken = fallback, {"world"}  # pybullet's name for the ground

    def allocate(self, raw: str) -> str:
        base = safe_name(raw, fallback=self._fallback)
        name, number = base, 1
        while name.casefold() in self._taken:
            number += 1
            name = f"{base}_{number}"
        self._taken.add(name.casefold())
        return name


def place_links(
    stage: Any,
    cache: Any,
    order: list[tuple[str, Joint | None]],
    units: Units,
    warnings: list[str],
) -> dict[str, Link]:
    names = Names("link")
    links: dict[str, Link] = {}
    for body, joint in order:
        world = column_matrix(cache.GetLocalToWorldTransform(stage.GetPrimAtPath(body)))
        frame = rigid_frame(world, element=body)
        adjust: FloatArray = np.eye(4)
        if joint is None or joint.parent is None:  # the root keeps the Z-up world's axes
            adjust[:3, :3] = units.up @ frame[:3, :3]
        else:
            adjust = np.asarray(np.linalg.inv(in_metres(joint.pose1, units)), dtype=np.float64)
            _check_frames(joint, links[joint.parent].frame, frame, units, warnings)
        links[body] = Link(names.allocate(PurePosixPath(body).name), body, frame, adjust)
    return links


def _check_frames(
    joint: Joint, parent: FloatArray, child: FloatArray, units: Units, warnings: list[str]
) -> None:
    frame0, frame1 = parent @ joint.pose0, child @ joint.pose1
    distance = float(np.linalg.norm(frame0[:3, 3] - frame1[:3, 3])) * units.metres
    cosine = (np.trace(frame0[:3, :3].T @ frame1[:3, :3]) - 1) / 2
    angle = math.acos(float(np.clip(cosine, -1.0, 1.0)))
    if distance > _FRAME_SLACK_M or angle > _FRAME_SLACK_RAD:
        warnings.append(
            f"joint {quoted(joint.path)}: its two frames are {distance:.3g} m and "
            f"{angle:.3g} rad apart on the stage; the child is placed at the joint's zero"
        )


def owner_body(path: Any, bodies: dict[str, Link] | set[str]) -> Any:
    """The nearest rigid body at or above `path` (None when there is none)."""
    while not path.isEmpty and path != Sdf.Path.absoluteRootPath:
        if str(path) in bodies:
            return str(path)
        path = path.GetParentPath()
    return None


def in_metres(transform: FloatArray, units: Units, *, scale: bool = False) -> FloatArray:
    """`transform` with its translation (and with `scale`, its linear part) in metres."""
    converted = transform.copy()
    converted[:3, 3] *= units.metres
    if scale:
        converted[:3, :3] *= units.metres
    return converted
