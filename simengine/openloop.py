"""Open-loop replays for the gap benchmark (G_dyn, G_perc); runs in an isolated child.

`gap_spec` is an executor target (`simengine.openloop:gap_spec`): it replays one recorded
action sequence, open loop, under the baseline and under each pseudo-reality profile, and
compares the state trajectories (G_dyn) and, on the baseline's true observations, the
observation errors of each profile's sensor model (G_perc).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simengine import gaps, spec
from simengine.engine import Engine
from simengine.errors import Diverged
from simengine.runner import NOISE_STREAM, TASK_STREAM, actuation, applied_profile
from simengine.scenarios import SUITE
from simengine.types import FloatArray, JSONDict
from simengine.wrappers import SensorNoise, true_observation


def replay(run: dict[str, Any], actions: FloatArray) -> tuple[FloatArray, FloatArray, JSONDict]:
    """Drive the scenario of `run` (a run spec) with `actions`, one row per step, open loop.

    The task builds the world and supplies its exogenous inputs (e.g. push_slide's push)
    but not the actions: the recorded commands go through this profile's actuator latency
    and motor strength. A divergence ends the replay early.

    Returns:
        (state rows: steps x compared dimensions, true observations: steps x obs_dim,
        the applied profile).
    """
    validated = spec.validate(run)
    profile, _ = applied_profile(validated)
    task = SUITE[validated.scenario](
        params=validated.params,
        rng=np.random.default_rng([validated.seed, TASK_STREAM]),
        steps=validated.steps,
        urdf_path=validated.urdf_path,
    )
    states: list[FloatArray] = []
    observations: list[FloatArray] = []
    with Engine(profile=profile) as engine:
        robot = task.load(engine)
        state = engine.read_state()
        latency, forces = actuation(profile, task, engine, robot)
        apply = task.actuator(engine, forces=forces)
        try:
            for i, command in enumerate(actions[: validated.steps]):
                obs = true_observation(state)
                task.before_step(engine, step=i, observation=obs)  # exogenous inputs only
                apply(latency(np.asarray(command, dtype=np.float64)))
                engine.step()
                after = engine.read_state()
                engine.check_divergence(after)
                state = after
                task.after_step(engine, step=i, state=state)
                observations.append(obs)
                states.append(gaps.state_rows(state.flat, robot.dof))
        except Diverged:
            pass
    dof = robot.dof
    width = len(gaps.state_names(dof))
    rows = np.array(states).reshape(len(states), width)
    obs_rows = np.array(observations).reshape(len(observations), -1)
    return rows, obs_rows, profile


def gap_spec(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """G_dyn and G_perc of one recorded episode under each pseudo-reality profile.

    Args:
        job: {"run": run spec of the baseline episode (scenario, profile = baseline, seed,
            steps, dt, params, urdf_path, dr_episode), "profiles": pseudo-reality profile
            names, "actions": the recorded action rows}.

    Returns:
        {"steps": replayed steps, "dimensions": names, "profiles": {name: {"G_dyn":
        GapDynamics, "G_perc": GapPerception}}}.
    """
    run = dict(job["run"])
    actions = np.asarray(job["actions"], dtype=np.float64)
    if actions.ndim != 2:
        actions = actions.reshape(len(actions), -1)
    base_states, base_obs, base_profile = replay(run, actions)
    dof = (base_states.shape[1] - 13) // 2
    names = gaps.state_names(dof)
    base_error = _observation_error(base_obs, base_profile, seed=int(run["seed"]), dof=dof)
    results: dict[str, JSONDict] = {}
    profiles: Sequence[str] = job["profiles"]
    for done, name in enumerate(profiles, start=1):
        states, _, profile = replay({**run, "profile": name}, actions)
        per_dim = dict(zip(names, gaps.nrmse(base_states, states).tolist(), strict=True))
        error = _observation_error(base_obs, profile, seed=int(run["seed"]), dof=dof)
        results[name] = {
            "G_dyn": gaps.dynamics(per_dim),
            "G_perc": gaps.perception(base_error, error),
        }
        if progress is not None:
            progress(done, len(profiles))
    return {"steps": len(base_states), "dimensions": names, "profiles": results}


def _observation_error(
    true_obs: FloatArray, profile: JSONDict, *, seed: int, dof: int
) -> tuple[float, dict[str, float]]:
    """Observation error of `profile`'s sensor model on the given true observations,
    with the noise stream a run of this seed uses."""
    noise = SensorNoise(
        noise=profile["sensor_noise"], dof=dof, rng=np.random.default_rng([seed, NOISE_STREAM])
    )
    measured = np.array([noise.measure(row) for row in true_obs]).reshape(true_obs.shape)
    return gaps.observation_error(true_obs, measured, dof)
