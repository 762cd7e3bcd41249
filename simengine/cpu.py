"""How a process that runs the engine sets numpy up; imports nothing (numpy reads the
setting once, when it is imported, so it must be made before that).

numpy dispatches its kernels to AVX-512 on CPUs that have it. On this kind of Xeon, its
512-bit floating-point instructions slow the core down for a while after each use, and
an episode uses a few every step (a task's reference, tracking error, clamps): measured
on r2d2 with the same actions, `stepSimulation` took 170 us a step after them against
158 us without (numpy 2.4.6), and the rest of the loop slows alike. With the AVX-512
targets disabled numpy runs its AVX2 kernels instead: elementwise arithmetic gives the
same bits (every scenario's trajectory hash and replay bytes are unchanged). Its
transcendental functions (`np.exp`, `np.arccos`) may differ in the last bit between the
two, so the engine computes scalar results with `math` (libm) instead: results do not
depend on this setting (tests/simengine/test_scenarios.py runs both ways).

The fork server sets it for itself, so every child it forks has it: simulation runs,
and also asset imports, previews and design children (their numpy work is small).
"""

from collections.abc import MutableMapping

NUMPY_CPU_ENV = "NPY_DISABLE_CPU_FEATURES"
# numpy 2.x's names for its x86 AVX-512 dispatch targets. Disabling a target this CPU
# lacks changes nothing, and a name another numpy does not know only raises an
# ImportWarning; but naming a target of numpy's *baseline* makes `import numpy` fail
# (RuntimeError): a numpy built for x86-64-v4 needs the variable set empty.
NUMPY_AVX512_TARGETS = "X86_V4 AVX512_ICL AVX512_SPR"


def numpy_without_avx512(environ: MutableMapping[str, str]) -> None:
    """Have numpy imported with `environ` leave its AVX-512 kernels unused, unless the
    variable is set already (an operator may set it, even to nothing)."""
    environ.setdefault(NUMPY_CPU_ENV, NUMPY_AVX512_TARGETS)
