"""How a process that runs the engine sets numpy up; imports nothing (numpy reads the
setting once, when it is imported, so it must be made before that).

numpy dispatches its kernels to AVX-512 on CPUs that have it. On this kind of Xeon, its
512-bit floating-point instructions slow the core down for a while after each use, and
an episode uses a few every step (a task's reference, tracking error, clamps): measured
on r2d2 with the same actions, `stepSimulation` took 170 us a step after them against
158 us without (numpy 2.4.6), and the rest of the loop slows alike. With the AVX-512
targets disabled numpy runs its AVX2 kernels instead: elementwise arithmetic gives the
same bits (every scenario's trajectory hash and replay bytes are unchanged); a
transcendental function such as `np.exp` may differ in its last bit, as it already does
between machines with and without AVX-512.
"""

from collections.abc import MutableMapping

NUMPY_CPU_ENV = "NPY_DISABLE_CPU_FEATURES"
# numpy 2.x's names for its x86 AVX-512 dispatch targets. Disabling a target this CPU
# lacks changes nothing; a name another numpy does not know only raises an ImportWarning.
NUMPY_AVX512_TARGETS = "X86_V4 AVX512_ICL AVX512_SPR"


def numpy_without_avx512(environ: MutableMapping[str, str]) -> None:
    """Have numpy imported with `environ` leave its AVX-512 kernels unused, unless the
    variable is set already (an operator may set it, even to nothing)."""
    environ.setdefault(NUMPY_CPU_ENV, NUMPY_AVX512_TARGETS)
