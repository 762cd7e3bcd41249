"""Physics: one PyBullet DIRECT client with a reality profile applied after every reset.

Plays the role of dm_control's `Physics`: it owns the client, steps it, reads state and
checks for divergence. It knows nothing about tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType

import numpy as np
import pybullet as p

from simengine import profiles
from simengine.errors import Diverged, InvalidAsset
from simengine.state import Robot, State, data_path
from simengine.types import FloatArray, JSONDict

# Beyond these the state is physically meaningless: treat as runaway energy. Bullet's
# multibodies clamp base and joint speeds at 100 (m/s, rad/s), so an exploding simulation
# shows up as speeds pinned at that clamp rather than as infinities.
MAX_POSITION_M = 1.0e4
MAX_LINEAR_SPEED = 50.0  # 180 km/h: no scenario robot gets near it
MAX_ANGULAR_SPEED = 500.0
MAX_JOINT_SPEED = 99.0
FINITE = 1.0e300  # any finite value passes; inf and NaN do not

# A DIRECT client connected ahead of time (see `prepare_client`), taken by the next Engine.
_spare_client: int | None = None
# The client of the last closed Engine, reset and reused by the next (a warm child's runs).
_used_client: int | None = None


def prepare_client() -> None:
    """Connect a DIRECT client now for the next `Engine` of this process to take.

    Called by the simulation fork server: every child it forks inherits a copy of the
    connected client, so a run does not pay for `connect` (~20 ms in a fresh child).
    A DIRECT client has no threads and no sockets, so it survives `fork`; `Engine`
    resets it and applies the whole profile, as it would a new one (identical inputs
    give bit-identical states across clients, resets and processes).
    """
    global _spare_client, _used_client
    if _spare_client is None:
        used, _used_client = _used_client, None
        if used is not None:
            p.resetSimulation(physicsClientId=used)  # frees the last world's bodies
        _spare_client = int(p.connect(p.DIRECT)) if used is None else used


def _connect() -> int:
    global _spare_client, _used_client
    client, _spare_client = _spare_client, None
    if client is not None:
        return client
    used, _used_client = _used_client, None
    if used is not None:
        # A closed Engine's client (a warm child's earlier run): emptied here, and the
        # profile is applied whole by the Engine, as on a new client, instead of paying
        # ~4-20 ms for `connect`. Fresh and emptied clients give bit-identical runs
        # (tests/handlers/isolation/test_pool.py runs every scenario and profile both ways).
        _empty(used)
        return used
    return int(p.connect(p.DIRECT))


def _empty(client: int) -> None:
    """Remove every body of `client`: 0.03 ms where `resetSimulation`, which also rebuilds
    the world, takes ~1.4 ms. The world's parameters stay as the last run set them, and
    every run sets all it uses (`profiles.apply_world`); the rest keep their defaults in
    both cases. PyBullet keeps a removed body's collision shapes until a reset (~8 KB an
    episode, measured): the pool retires a child after QERS_SIM_CHILD_MAX_EPISODES runs
    or QERS_SIM_CHILD_MAX_GROWTH_MB of growth, which bounds it."""
    count = p.getNumBodies(physicsClientId=client)
    bodies = [p.getBodyUniqueId(i, physicsClientId=client) for i in range(count)]
    for body in bodies:
        p.removeBody(body, physicsClientId=client)


def _no_targets(targets: FloatArray) -> None:
    """The motor command of a robot without movable joints."""


def _release(client: int) -> None:
    """Keep a closed Engine's client for the next Engine of this process (one is kept)."""
    global _used_client
    if _used_client is None:
        _used_client = client
    else:
        p.disconnect(physicsClientId=client)


class Engine:
    """A PyBullet DIRECT client applying one reality profile.

    Args:
        profile: A RealityProfile-shaped dict (already domain-randomised if wanted).
    """

    # A run never renders: visual meshes and textures would only cost load time (r2d2:
    # 14.5 -> 11.5 ms). Dynamics come from the collision shapes and inertials alone: every
    # scenario gives the same trajectory with and without visuals (tests/simengine).
    load_flags: int = p.URDF_IGNORE_VISUAL_SHAPES

    def __init__(self, *, profile: JSONDict) -> None:
        self.profile = profile
        self._client: int = _connect()
        self._floor: int | None = None
        self.robot: Robot | None = None
        self.step_count = 0
        self._limit_cache: dict[int, FloatArray] = {}
        # A new client is already empty: resetting it would only cost time (~5 ms in a
        # fresh child). Fresh and reset clients give bit-identical runs (tested).
        profiles.apply_world(self._client, self.profile)

    @property
    def client(self) -> int:
        return self._client

    @property
    def timestep(self) -> float:
        return float(self.profile["timestep_s"])

    @property
    def time(self) -> float:
        return self.step_count * self.timestep

    def reset(self) -> None:
        """Empty the world and apply the whole profile again.

        `resetSimulation` resets gravity and solver iterations but keeps the timestep and
        substeps, so every world parameter is set again here.
        """
        p.resetSimulation(physicsClientId=self._client)
        profiles.apply_world(self._client, self.profile)
        self._floor = None
        self.robot = None
        self.step_count = 0

    def load_floor(self) -> int:
        """Load the ground plane with the profile's floor friction and restitution."""
        body = self._load(data_path("plane.urdf"), position=(0.0, 0.0, 0.0), fixed_base=True)
        profiles.apply_body(self._client, body, self.profile, role="floor")
        self._floor = body
        return body

    def load_robot(
        self,
        path: str,
        *,
        position: tuple[float, float, float] = (0.0, 0.0, 0.0),
        orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0),
        fixed_base: bool = False,
    ) -> Robot:
        """Load the robot and apply the profile's robot dynamics to every link.

        Raises:
            InvalidAsset: PyBullet could not load the file.
        """
        body = self._load(path, position=position, orientation=orientation, fixed_base=fixed_base)
        profiles.apply_body(self._client, body, self.profile, role="robot")
        indices: list[int] = []
        names: list[str] = []
        lower: list[float] = []
        upper: list[float] = []
        force: list[float] = []
        for j in range(p.getNumJoints(body, physicsClientId=self._client)):
            info = p.getJointInfo(body, j, physicsClientId=self._client)
            if info[2] not in (p.JOINT_REVOLUTE, p.JOINT_PRISMATIC):
                continue
            indices.append(j)
            names.append(info[1].decode("utf-8", "replace"))
            lo, hi = float(info[8]), float(info[9])
            if lo > hi:  # continuous joint: PyBullet reports lower > upper
                lo, hi = -np.pi, np.pi
            lower.append(lo)
            upper.append(hi)
            force.append(float(info[10]))
        self.robot = Robot(
            body=body,
            joint_indices=tuple(indices),
            joint_names=tuple(names),
            lower=np.array(lower, dtype=np.float64),
            upper=np.array(upper, dtype=np.float64),
            max_force=np.array(force, dtype=np.float64),
        )
        return self.robot

    def load_object(self, path: str, *, position: tuple[float, float, float]) -> int:
        """Load a free body that follows the robot's dynamics profile (e.g. a pushed box)."""
        body = self._load(path, position=position)
        profiles.apply_body(self._client, body, self.profile, role="robot")
        return body

    def _load(
        self,
        path: str,
        *,
        position: tuple[float, float, float],
        orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0),
        fixed_base: bool = False,
    ) -> int:
        try:
            return int(
                p.loadURDF(
                    path,
                    position,
                    orientation,
                    useFixedBase=fixed_base,
                    flags=self.load_flags,
                    physicsClientId=self._client,
                )
            )
        except p.error as exc:
            # PyBullet's message may hold the absolute path: report only the file name.
            raise InvalidAsset(f"could not load robot file {os.path.basename(path)!r}") from exc

    def position_motors(
        self,
        *,
        forces: FloatArray,
        position_gain: float | None = None,
        velocity_gain: float | None = None,
    ) -> Callable[[FloatArray], None]:
        """A command sending position targets to every movable joint, limited to `forces`.

        Everything but the targets is fixed for the episode and converted here once: the
        episode loop calls the command on every step.
        """
        robot = self._require_robot()
        if robot.dof == 0:
            return _no_targets
        fixed: dict[str, object] = {"forces": forces.tolist(), "physicsClientId": self._client}
        if position_gain is not None:
            fixed["positionGains"] = [position_gain] * robot.dof
        if velocity_gain is not None:
            fixed["velocityGains"] = [velocity_gain] * robot.dof
        send, body, joints, mode = (
            p.setJointMotorControlArray,
            robot.body,
            robot.joint_indices,
            p.POSITION_CONTROL,
        )

        def command(targets: FloatArray) -> None:
            send(body, joints, mode, targetPositions=targets.tolist(), **fixed)

        return command

    def apply_base_force(self, body: int, force: tuple[float, float, float]) -> None:
        """Push `body` at its centre of mass with a world-frame force for the next step."""
        position, _ = p.getBasePositionAndOrientation(body, physicsClientId=self._client)
        p.applyExternalForce(body, -1, force, position, p.WORLD_FRAME, physicsClientId=self._client)

    def step(self) -> None:
        """Advance the simulation by one timestep."""
        p.stepSimulation(physicsClientId=self._client)
        self.step_count += 1

    def read_state(self) -> State:
        """True state of the robot."""
        robot = self._require_robot()
        return self.body_state(robot.body, robot.joint_indices)

    def body_state(self, body: int, joint_indices: tuple[int, ...] = ()) -> State:
        """True state of any body (joint vectors for `joint_indices`)."""
        c = self._client
        pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
        lin, ang = p.getBaseVelocity(body, physicsClientId=c)
        n = len(joint_indices)
        if n:
            # Transposed in C: (positions, velocities, reaction forces, torques).
            joints = p.getJointStates(body, joint_indices, physicsClientId=c)
            q, qd, _, tau = zip(*joints, strict=True)
            values = pos + orn + lin + ang + q + qd + tau
        else:
            values = pos + orn + lin + ang
        # One allocation per step; the fields are views into it.
        return State(
            np.array(values, dtype=np.float64),
            n,
            p.getEulerFromQuaternion(orn, physicsClientId=c),
        )

    def contact_count(self, body: int | None = None) -> int:
        """Number of contact points of `body` (default: the robot) after the last step."""
        if body is None:
            body = self._require_robot().body
        return len(p.getContactPoints(bodyA=body, physicsClientId=self._client))

    def euler(self, quaternion: FloatArray) -> FloatArray:
        """Roll, pitch, yaw of a `[x, y, z, w]` quaternion."""
        rpy = p.getEulerFromQuaternion(quaternion.tolist(), physicsClientId=self._client)
        return np.array(rpy, dtype=np.float64)

    def check_divergence(self, state: State) -> None:
        """Raise if the state is NaN/infinite or has run away.

        Raises:
            Diverged: with the offending quantity and the step.
        """
        limits = self._limits(state.dof)
        # NaN fails every comparison, so one vector test covers NaN, inf and runaway values.
        if bool((np.abs(state.flat) <= limits).all()):
            return
        fields = {
            "base_position": (state.base_position, MAX_POSITION_M),
            "base_orientation": (state.base_orientation, FINITE),
            "base_linear_velocity": (state.base_linear_velocity, MAX_LINEAR_SPEED),
            "base_angular_velocity": (state.base_angular_velocity, MAX_ANGULAR_SPEED),
            "joint_position": (state.joint_position, FINITE),
            "joint_velocity": (state.joint_velocity, MAX_JOINT_SPEED),
            "joint_torque": (state.joint_torque, FINITE),
        }
        for name, (values, limit) in fields.items():
            if not np.all(np.isfinite(values)):
                raise Diverged(f"{name} is NaN or infinite", step=self.step_count)
            if values.size and float(np.max(np.abs(values))) > limit:
                raise Diverged(
                    f"{name} exceeds {limit:g} (runaway energy); try a smaller dt",
                    step=self.step_count,
                )

    def _limits(self, dof: int) -> FloatArray:
        cached = self._limit_cache.get(dof)
        if cached is None:
            cached = np.array(
                [MAX_POSITION_M] * 3
                + [FINITE] * 4
                + [MAX_LINEAR_SPEED] * 3
                + [MAX_ANGULAR_SPEED] * 3
                + [FINITE] * dof
                + [MAX_JOINT_SPEED] * dof
                + [FINITE] * dof
            )
            self._limit_cache[dof] = cached
        return cached

    def reset_joints(self, positions: FloatArray) -> None:
        """Teleport the robot's joints to `positions` with zero velocity."""
        robot = self._require_robot()
        for index, q in zip(robot.joint_indices, positions, strict=True):
            p.resetJointState(robot.body, index, float(q), 0.0, physicsClientId=self._client)

    def rest_on_floor(self, body: int, *, clearance: float = 0.001) -> None:
        """Move `body` vertically so that its lowest point is `clearance` above z = 0."""
        c = self._client
        lowest = min(
            p.getAABB(body, link, physicsClientId=c)[0][2]
            for link in range(-1, p.getNumJoints(body, physicsClientId=c))
        )
        pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
        p.resetBasePositionAndOrientation(
            body, (pos[0], pos[1], pos[2] - lowest + clearance), orn, physicsClientId=c
        )

    def link_position(self, link: int, *, joint_positions: FloatArray) -> FloatArray:
        """World position of a robot link with the joints teleported to `joint_positions`.

        Changes the simulation state: only for use after the last step.
        """
        robot = self._require_robot()
        self.reset_joints(joint_positions)
        state = p.getLinkState(
            robot.body, link, computeForwardKinematics=True, physicsClientId=self._client
        )
        return np.array(state[4], dtype=np.float64)

    def _require_robot(self) -> Robot:
        if self.robot is None:
            raise RuntimeError("no robot loaded")
        return self.robot

    def close(self) -> None:
        """Give the client back for the next Engine of this process (idempotent)."""
        if self._client >= 0:
            _release(self._client)
            self._client = -1

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
