"""Imported by the simulation fork server only: the physics side of the engine, loaded once.

Every child forked from the server then starts with it (importing it takes ~250 ms).
Beyond the imports, the first run in a process pays for things done lazily: numpy
submodules (`numpy.random`, `numpy.ma` through `np.percentile`), compiled regexes,
pybullet's first client. A two-step episode of every scenario pays for them here, and a
connected DIRECT client is left for the child's engine (`engine.prepare_client`).
Nothing a run computes depends on this: each run builds its world, generators and
profile from its spec (the determinism tests run the same spec in warmed and fresh
processes). The API process never imports this module: it would load pybullet.
"""

import contextlib
import ctypes
import ctypes.util

from simengine import engine, npzfile, runner, spec
from simengine.scenarios import SUITE
from simengine.versions import engine_info

WARM_UP_STEPS = 2
# The spare's warm-up loads the floor and a small robot (r2d2), steps and resets.
SPARE_WARM_UP_SCENARIO = "urdf_rollout"


def warm_up() -> None:
    """Run every scenario for a couple of steps, then connect the spare client."""
    for name in sorted(SUITE):
        _episode(name)
    npzfile.shutdown_pool()  # the server forks children: it keeps no threads
    engine.prepare_client()  # the warm-up's client, emptied, before memory is given back
    _release_free_memory()


def warm_spare() -> None:
    """Warm a freshly forked spare child: a two-step episode, then a connected client.

    Touching the engine's memory here takes the copy-on-write faults a child's first run
    would otherwise pay (about 10 ms of a short run) before any job waits for it.
    """
    _episode(SPARE_WARM_UP_SCENARIO)
    engine.prepare_client()


def _episode(scenario: str) -> None:
    """A short episode, as `simengine.api.run_spec` runs it (which imports this module)."""
    runner.run(spec.validate({"scenario": scenario, "steps": WARM_UP_STEPS}))


def _release_free_memory() -> None:
    # The warm-up's worlds are gone but glibc keeps their pages (~25 MB); every fork
    # would copy their page tables.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


engine_info()  # cached: package metadata lookups cost ~60 ms
warm_up()
