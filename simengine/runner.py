"""The episode loop (dm_control's Environment): coordinates Engine, Task and wrappers."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from simengine import metrics, profiles, replay
from simengine.engine import Engine
from simengine.errors import Diverged
from simengine.scenarios import SUITE, Task
from simengine.spec import RunSpec
from simengine.state import Robot, State
from simengine.types import Float32Array, FloatArray, JSONDict
from simengine.versions import engine_info
from simengine.wrappers import (
    ActionLatency,
    SensorNoise,
    motor_forces,
    observation_names,
    true_observation,
    true_observations,
)

TASK_STREAM = 0x7A5C
NOISE_STREAM = 0x0015E


def applied_profile(spec: RunSpec) -> tuple[JSONDict, dict[str, float]]:
    """The profile as applied (domain-randomised if `dr_episode` is set, timestep = dt)."""
    profile = profiles.get_profile(spec.profile)
    sample: dict[str, float] = {}
    if spec.dr_episode is not None:
        sample = profiles.sample_randomization(profile, seed=spec.seed, episode=spec.dr_episode)
        profile = profiles.with_randomization(profile, sample)
    profile["timestep_s"] = spec.dt
    return profile, sample


def actuation(
    profile: JSONDict, task: Task, engine: Engine, robot: Robot
) -> tuple[ActionLatency, FloatArray]:
    """The profile's actuators for `robot`: action latency and per-motor force limits."""
    latency = ActionLatency(
        steps=int(profile["actuator_latency_steps"]), initial=task.initial_action(engine)
    )
    forces = motor_forces(
        robot.max_force,
        scale=float(profile["motor_strength_scale"]),
        default=task.default_motor_force,
    )
    return latency, forces


def run(
    spec: RunSpec,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Run one episode; see `simengine.api.run_spec` for the result shape and errors.

    A divergence ends the episode early: the `Diverged` raised carries the partial
    result (metrics and replay up to the last sound step) as `partial_output`.
    """
    profile, sample = applied_profile(spec)
    task = SUITE[spec.scenario](
        params=spec.params,
        rng=np.random.default_rng([spec.seed, TASK_STREAM]),
        steps=spec.steps,
        urdf_path=spec.urdf_path,
    )
    with Engine(profile=profile) as engine:
        robot = task.load(engine)
        start = engine.read_state()
        noise = SensorNoise(
            noise=profile["sensor_noise"],
            dof=robot.dof,
            rng=np.random.default_rng([spec.seed, NOISE_STREAM]),
        )
        latency, forces = actuation(profile, task, engine, robot)
        obs_names = observation_names(robot.dof)
        recorder = replay.Recorder(
            steps=spec.steps,
            dof=robot.dof,
            obs_dim=len(obs_names),
            dt=spec.dt,
            start=start,
            observe=None if task.reads_observation else _observer(noise, robot.dof),
        )
        step_times = np.zeros(spec.steps)
        state, diverged = _loop(
            spec.steps,
            engine=engine,
            task=task,
            noise=noise,
            latency=latency,
            forces=forces,
            recorder=recorder,
            step_times=step_times,
            state=start,
            progress=progress,
            should_stop=should_stop,
        )
        done = recorder.count
        if progress is not None and done and done % _tick(spec.steps):
            progress(done, spec.steps)  # the last report names the exact count
        arrays = recorder.arrays()
        task_values = task.task_metrics() if done else {"success": 0.0, "score": 0.0}
        task_values["base_displacement_m"] = metrics.horizontal_displacement(
            start.base_position, state.base_position
        )
        task_values["energy_j"] = metrics.actuator_energy(
            arrays["joint_torque"], arrays["joint_velocity"], dt=spec.dt
        )
        task_values["contact_count"] = float(engine.contact_count())
        joint_names = list(robot.joint_names)
    partial = done < spec.steps
    result_metrics = metrics.run_metrics(
        steps=done,
        dt=spec.dt,
        step_times_s=step_times[:done],
        partial=partial,
        task=task_values,
    )
    result_metrics["run_id"] = spec.run_id
    result_metrics["status"] = "FAILED" if diverged else "CANCELLED" if partial else "SUCCEEDED"
    history = metrics.metric_history(_series(arrays, dt=spec.dt), steps=done, dt=spec.dt)
    digest = replay.trajectory_sha256(arrays)
    manifest = None
    npz = None
    if spec.record_replay:
        manifest = replay.build_manifest(
            run_id=spec.run_id,
            scenario=spec.scenario,
            profile=profile,
            seed=spec.seed,
            dt=spec.dt,
            steps=spec.steps,
            steps_recorded=done,
            dr_sample=sample,
            urdf_path=spec.urdf_label,
            urdf_sha256=replay.file_sha256(spec.urdf_path) if spec.urdf_path else None,
            trajectory_sha256=digest,
            joint_names=joint_names,
            observation_names=obs_names,
            engine=dict(engine_info()),
        )
        npz = replay.to_npz(arrays)
    output: JSONDict = {
        "metrics": result_metrics,
        "history": history,
        "manifest": manifest,
        "replay_npz": npz,
        "trajectory_sha256": digest,
        "dr_sample": sample,
        "applied_profile": profile,
    }
    if diverged is not None:
        diverged.partial_output = output
        raise diverged
    return output


def _tick(steps: int) -> int:
    """Progress is reported every this many steps (about 100 times per run)."""
    return max(1, steps // 100)


def _observer(noise: SensorNoise, dof: int) -> Callable[[FloatArray, FloatArray], FloatArray]:
    """Measured observations of many states at once (for a task that does not read them)."""

    def observe(states: FloatArray, rpy: FloatArray) -> FloatArray:
        return noise.measure(true_observations(states, rpy, dof))

    return observe


def _loop(
    steps: int,
    *,
    engine: Engine,
    task: Task,
    noise: SensorNoise,
    latency: ActionLatency,
    forces: FloatArray,
    recorder: replay.Recorder,
    step_times: FloatArray,
    state: State,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[State, Diverged | None]:
    """Step until `steps`, a stop request or a divergence.

    Returns the last sound state (the one before a divergence) and the divergence.

    The per-step cost is what `make bench` compares with a raw pybullet loop, so the
    bound methods are looked up once here rather than on every step, and the observation
    is computed here only for a task that reads it (the recorder computes the others').
    """
    tick = _tick(steps)
    clock = time.perf_counter
    step, read_state = engine.step, engine.read_state
    check_divergence = engine.check_divergence
    before_step, after_step = task.before_step, task.after_step
    apply = task.actuator(engine, forces=forces)
    measure, record = noise.measure, recorder.record
    reads_observation = task.reads_observation
    try:
        for i in range(steps):
            if should_stop is not None and should_stop():
                break
            t0 = clock()
            obs = measure(true_observation(state)) if reads_observation else None
            action = latency(before_step(engine, step=i, observation=obs))
            apply(action)
            step()
            after = read_state()
            check_divergence(after)
            state = after
            after_step(engine, step=i, state=state)
            step_times[i] = clock() - t0
            record(state, action, obs)
            if progress is not None and (i + 1) % tick == 0:
                progress(i + 1, steps)
    except Diverged as exc:
        return state, exc
    return state, None


def _series(arrays: dict[str, Float32Array], *, dt: float) -> dict[str, FloatArray]:
    """Per-step series for the metric history, derived from the recorded arrays."""
    tau = arrays["joint_torque"].astype(np.float64)
    qd = arrays["joint_velocity"].astype(np.float64)
    power = np.abs(tau * qd).sum(axis=1) if tau.ndim == 2 else np.zeros(len(arrays["t"]))
    return {
        "base_height_m": arrays["base_position"][:, 2].astype(np.float64),
        "base_speed_m_s": np.linalg.norm(arrays["base_linear_velocity"], axis=1).astype(np.float64),
        "energy_j": np.cumsum(power) * dt,
    }
