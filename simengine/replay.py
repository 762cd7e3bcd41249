"""Replay bundles: per-step float32 arrays in a compressed npz plus a ReplayManifest dict."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from simengine import npzfile
from simengine.state import State
from simengine.types import Float32Array, FloatArray, JSONDict

FORMAT_VERSION = 1
# Fixed order of the arrays: the trajectory hash and the npz both follow it.
COLUMNS = (
    "t",
    "base_position",
    "base_orientation",
    "base_linear_velocity",
    "base_angular_velocity",
    "joint_position",
    "joint_velocity",
    "joint_torque",
    "action",
    "observation",
)


# Steps gathered in float64 before they are cast and stored together (see `Recorder`).
BLOCK = 256


class Recorder:
    """Preallocated float32 arrays for `steps` steps of a robot with `dof` joints.

    The state is stored as one flat row per step, split into the `COLUMNS` arrays when
    read. Rows are gathered in float64 blocks of `BLOCK` steps and stored (cast to
    float32) a block at a time. With `observe`, the observations are not recorded step by
    step: `observe(states, rpy)` computes a block's at once from the float64 states before
    each of its steps (`State.flat` rows, the first one `start`'s) and their `base_rpy`.
    The values are the same as recording each step's; the loop just does not compute them.
    """

    def __init__(
        self,
        *,
        steps: int,
        dof: int,
        obs_dim: int,
        dt: float,
        start: State,
        observe: Callable[[FloatArray, FloatArray], FloatArray] | None = None,
    ) -> None:
        self._dof = dof
        self._state = np.zeros((steps, 13 + 3 * dof), dtype=np.float32)
        self._action = np.zeros((steps, dof), dtype=np.float32)
        self._observation = np.zeros((steps, obs_dim), dtype=np.float32)
        self._dt = dt
        self._observe = observe
        # Row 0 holds the state before the block's first step; row k the state after it.
        self._block = np.empty((BLOCK + 1, 13 + 3 * dof))
        self._rpy = np.empty((BLOCK + 1, 3))
        self._block[0] = start.flat
        self._rpy[0] = start.base_rpy
        self._begin = 0  # the step of the block's first row
        self.count = 0

    def record(self, state: State, action: FloatArray, observation: FloatArray | None) -> None:
        """Store one step: the state after it, the action applied and the observation
        before it (None when the recorder was given `observe`)."""
        i = self.count
        row = i - self._begin + 1
        self._block[row] = state.flat
        if observation is None:
            self._rpy[row] = state.base_rpy
        else:
            self._observation[i] = observation
        self._action[i] = action
        self.count = i + 1
        if row == BLOCK:
            self._store()

    def _store(self) -> None:
        """Cast and store the block's rows (and compute their observations)."""
        begin, end = self._begin, self.count
        n = end - begin
        if n == 0:
            return
        self._state[begin:end] = self._block[1 : n + 1]
        if self._observe is not None:
            self._observation[begin:end] = self._observe(self._block[:n], self._rpy[:n])
        self._block[0] = self._block[n]
        self._rpy[0] = self._rpy[n]
        self._begin = end

    def arrays(self) -> dict[str, Float32Array]:
        """The recorded steps, one contiguous array per name in `COLUMNS` order."""
        self._store()
        n, d = self.count, self._dof
        state = self._state[:n]
        t = ((np.arange(n, dtype=np.float64) + 1) * self._dt).astype(np.float32)
        split = {
            "t": t,
            "base_position": state[:, 0:3],
            "base_orientation": state[:, 3:7],
            "base_linear_velocity": state[:, 7:10],
            "base_angular_velocity": state[:, 10:13],
            "joint_position": state[:, 13 : 13 + d],
            "joint_velocity": state[:, 13 + d : 13 + 2 * d],
            "joint_torque": state[:, 13 + 2 * d : 13 + 3 * d],
            "action": self._action[:n],
            "observation": self._observation[:n],
        }
        return {name: np.ascontiguousarray(split[name]) for name in COLUMNS}


def trajectory_sha256(arrays: dict[str, Float32Array]) -> str:
    """SHA-256 over the raw little-endian float32 bytes of every column in `COLUMNS` order."""
    digest = hashlib.sha256()
    for name in COLUMNS:
        digest.update(np.ascontiguousarray(arrays[name], dtype="<f4").tobytes())
    return digest.hexdigest()


def to_npz(arrays: dict[str, Float32Array]) -> bytes:
    """The arrays as an npz file that `numpy.load` reads.

    Columns are written in Fortran order (each signal's time series contiguous) and
    compressed by `simengine.npzfile`: DEFLATE while the arrays total under 128 KiB (a
    short run, where LZMA's fixed cost per column dominated), LZMA tuned for float32
    series above: about 225 B/step for a 12-DoF quadruped, against about 280 B/step for
    `numpy.savez_compressed`.
    """
    members = []
    for name in COLUMNS:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asfortranarray(arrays[name]), allow_pickle=False)
        members.append((f"{name}.npy", buffer.getvalue()))
    return npzfile.write_zip(members)


def from_npz(data: bytes) -> dict[str, Float32Array]:
    """Read arrays written by `to_npz` (no pickles are ever loaded)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: np.asarray(npz[name], dtype=np.float32) for name in COLUMNS}


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(
    *,
    run_id: str,
    scenario: str,
    profile: JSONDict,
    seed: int,
    dt: float,
    steps: int,
    steps_recorded: int,
    dr_sample: dict[str, float],
    urdf_path: str | None,
    urdf_sha256: str | None,
    trajectory_sha256: str,
    joint_names: list[str],
    observation_names: list[str],
    engine: JSONDict,
) -> JSONDict:
    """A ReplayManifest-shaped dict (`trajectory_sha256` null when partial)."""
    partial = steps_recorded < steps
    return {
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "scenario": scenario,
        "profile": profile,
        "seed": seed,
        "dt": dt,
        "steps": steps,
        "steps_recorded": steps_recorded,
        "partial": partial,
        "dr_sample": dict(dr_sample),
        "urdf_path": urdf_path,
        "urdf_sha256": urdf_sha256,
        "trajectory_sha256": None if partial else trajectory_sha256,
        "joint_names": joint_names,
        "observation_names": observation_names,
        "engine": engine,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def _rows(column: Float32Array) -> list[float] | list[list[float]]:
    return [float(x) for x in column] if column.ndim == 1 else column.astype(np.float64).tolist()


def columns(arrays: dict[str, Float32Array], *, stride: int = 1) -> JSONDict:
    """Every `stride`-th step in ReplayColumns shape (JSON-ready floats)."""
    if stride < 1:
        raise ValueError("stride must be >= 1")
    n = len(arrays["t"])
    out: JSONDict = {"step_index": list(range(0, n, stride))}
    for name in COLUMNS:
        out[name] = _rows(arrays[name][::stride])
    return out


def step(arrays: dict[str, Float32Array], index: int) -> JSONDict:
    """One step in ReplayStep shape.

    Raises:
        IndexError: `index` outside 0 .. steps_recorded - 1 (message names the range).
    """
    n = len(arrays["t"])
    if not 0 <= index < n:
        raise IndexError(f"step_index must be in 0..{n - 1}, got {index}")
    out: JSONDict = {"step_index": index}
    for name in COLUMNS:
        value = arrays[name][index]
        out[name] = float(value) if np.ndim(value) == 0 else [float(x) for x in value]
    return out


def sim_step(manifest: JSONDict, arrays: dict[str, Float32Array], index: int) -> JSONDict:
    """One step in SimStep shape."""
    return {
        "run_id": manifest["run_id"],
        "steps_recorded": len(arrays["t"]),
        "joint_names": manifest["joint_names"],
        "step": step(arrays, index),
    }
