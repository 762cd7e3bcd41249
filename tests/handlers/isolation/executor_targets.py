"""Engine stand-ins run by the executor tests in real child processes."""

import ctypes
import os
import signal
import time
from collections.abc import Callable
from typing import Any

Spec = dict[str, Any]
ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


class StandInSimError(Exception):
    """Shaped like simengine.errors.SimError: a failure_code and a reason."""

    def __init__(self, failure_code: str | None, reason: str) -> None:
        super().__init__(reason)
        self.failure_code = failure_code
        self.reason = reason


def trivial(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> dict[str, Any]:
    """Return at once (for the overhead measurement)."""
    return {"metrics": {}}


def succeed(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> dict[str, Any]:
    """Step `spec["steps"]` times with progress, then return metrics and a replay blob."""
    steps = int(spec.get("steps", 10))
    for done in range(1, steps + 1):
        time.sleep(float(spec.get("step_s", 0.0)))
        progress(done, steps)
    return {
        "metrics": {"steps": steps, "echo": spec.get("echo")},
        "manifest": {"seed": 1},
        "trajectory_sha256": "0" * 64,
        "replay_npz": bytes(range(256)) * int(spec.get("replay_kib", 1)) * 4,
    }


def segfault(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Dereference NULL."""
    ctypes.string_at(0)


def segfault_midway(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Report some steps, then die by SIGSEGV."""
    progress(5, 10)
    os.kill(os.getpid(), signal.SIGSEGV)


def loop_forever(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Report progress forever (a hang that still looks alive)."""
    done = 0
    while True:
        done += 1
        progress(done, 1_000_000_000)
        time.sleep(0.01)


def burn_cpu(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Spin without sleeping."""
    while True:
        pass


def allocate(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Allocate far past the child's address-space limit."""
    hoard = [bytearray(64 * 1024 * 1024) for _ in range(1024)]
    raise AssertionError(len(hoard))


def sim_error(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Fail like the engine rejecting an asset (with a server path in the reason)."""
    raise StandInSimError("INVALID_ASSET", "mesh /srv/qers/assets/abc/robot.obj is not a file")


def spec_error(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Fail like simengine's InvalidConfig: failure_code None (normally a 422 up front)."""
    raise StandInSimError(None, "scenario: unknown scenario 'nope'; valid: drop_test")


def unexpected(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Fail with a plain exception whose message holds a server path."""
    raise KeyError("/srv/qers/secret/config.yaml")


def exit_quietly(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> None:
    """Leave without a result and without Python noticing."""
    os._exit(0)


def pybullet_load(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> dict[str, Any]:
    """Load `spec["urdf"]` into a DIRECT pybullet client (real engine crashes and hangs)."""
    import pybullet

    client = pybullet.connect(pybullet.DIRECT)
    body = pybullet.loadURDF(spec["urdf"], physicsClientId=client)
    pybullet.stepSimulation(physicsClientId=client)
    return {"metrics": {"body": body}}


def numpy_dispatch(spec: Spec, *, progress: ProgressFn, should_stop: StopFn) -> dict[str, Any]:
    """How the child's numpy was set up: the variable it read and its AVX-512 kernels."""
    import numpy as np

    features = np._core._multiarray_umath.__cpu_features__
    return {
        "metrics": {
            "setting": os.environ.get("NPY_DISABLE_CPU_FEATURES"),
            "avx512_in_use": [
                name for name in ("X86_V4", "AVX512_ICL", "AVX512_SPR") if features.get(name)
            ],
        }
    }
