"""How a simulation child ended, as a contract failure code and a reason people can act on.

Reasons never carry server paths: any absolute path is cut down to its last component.
"""

import re
import signal
from dataclasses import dataclass

from generated.models.FailureCode_schema import FailureCode

# The child never exits with 255 on its own; multiprocessing reports it when the
# fork server (the child's parent) is gone and the real status is lost.
SERVER_LOST_EXIT = 255
CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT, signal.SIGTRAP}
)
_PATH_CHAR = r"[^\s/'\"()\[\]<>,;:]"
_ABSOLUTE_PATH = re.compile(rf"(?<![\w.~-])/(?:{_PATH_CHAR}+/)*({_PATH_CHAR}*)")
_MIB = 1024 * 1024
_REASON_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure code with its human-readable reason."""

    code: FailureCode
    reason: str


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run got: steps done of total (total None before the first report)."""

    done: int = 0
    total: int | None = None

    def where(self) -> str:
        """'at step N of M', or a note that the simulation had not started stepping."""
        if self.total is None:
            return "before the first step (while loading the robot and its meshes)"
        return f"at step {self.done} of {self.total}"


def scrub_paths(text: str) -> str:
    """`text` with every absolute path replaced by its last component."""
    return _ABSOLUTE_PATH.sub(lambda match: match.group(1) or "<path>", text)


def timeout(*, max_duration_s: float, progress: Progress) -> Failure:
    """The run was still going when its wall-clock budget ran out."""
    advice = (
        "a mesh file may be unreadable (check that every mesh is a regular file), "
        "or loading needs a larger max_duration_s"
        if progress.total is None
        else "raise max_duration_s or lower the number of steps"
    )
    return Failure(
        FailureCode.TIMEOUT,
        f"the run exceeded max_duration_s={max_duration_s:g} {progress.where()}; {advice}",
    )


def from_exit(
    *, exit_code: int | None, progress: Progress, cpu_limit_s: int, memory_limit_bytes: int
) -> Failure:
    """The child ended without reporting a result; `exit_code` < 0 is a signal."""
    if exit_code is None or exit_code == SERVER_LOST_EXIT:
        return Failure(
            FailureCode.WORKER_LOST,
            f"the process running the simulation was lost {progress.where()}; retry the run",
        )
    if exit_code >= 0:
        return Failure(
            FailureCode.ENGINE_CRASH,
            f"the engine exited unexpectedly (exit code {exit_code}) {progress.where()} "
            "without reporting a result",
        )
    return _from_signal(-exit_code, progress, cpu_limit_s, memory_limit_bytes)


def from_child_error(
    *, code: object, reason: object, exception: object, memory_limit_bytes: int
) -> Failure:
    """A failure the child reported: an engine domain error, memory, or an unexpected error."""
    if code == FailureCode.RESOURCE_LIMIT and reason is None:
        return Failure(
            FailureCode.RESOURCE_LIMIT,
            f"the simulation ran out of memory (limit {_mib(memory_limit_bytes)}); "
            "use a smaller model or fewer steps",
        )
    if isinstance(code, str) and code in FailureCode.__members__ and isinstance(reason, str):
        return Failure(FailureCode(code), scrub_paths(reason)[:_REASON_LIMIT])
    if code is None and isinstance(reason, str):
        # A spec error (failure_code None) that the API should have answered with 422.
        reason = scrub_paths(reason)[:_REASON_LIMIT]
        return Failure(FailureCode.INTERNAL, f"the engine rejected the run spec: {reason}")
    name = exception if isinstance(exception, str) and exception.isidentifier() else "error"
    return Failure(
        FailureCode.INTERNAL,
        f"the engine failed with an unexpected {name}; this is a server bug, "
        "please report it with the run id",
    )


def bad_frame(detail: str) -> Failure:
    """The child sent something the parent cannot read."""
    return Failure(FailureCode.INTERNAL, f"the engine sent an unreadable result ({detail})")


def _from_signal(
    number: int, progress: Progress, cpu_limit_s: int, memory_limit_bytes: int
) -> Failure:
    name = _signal_name(number)
    if number == signal.SIGXCPU:
        return Failure(
            FailureCode.RESOURCE_LIMIT,
            f"the run used more than its CPU-time limit of {cpu_limit_s} s {progress.where()}; "
            "lower the number of steps or raise max_duration_s",
        )
    if number == signal.SIGKILL:
        return Failure(
            FailureCode.RESOURCE_LIMIT,
            f"the system killed the simulation (SIGKILL) {progress.where()}, most likely for "
            f"exceeding its CPU-time limit ({cpu_limit_s} s) or memory "
            f"({_mib(memory_limit_bytes)})",
        )
    if number in CRASH_SIGNALS:
        return Failure(
            FailureCode.ENGINE_CRASH, _crash_reason(name, number, progress, memory_limit_bytes)
        )
    return Failure(
        FailureCode.WORKER_LOST,
        f"the simulation was stopped from outside ({name}) {progress.where()}; retry the run",
    )


def _crash_reason(name: str, number: int, progress: Progress, memory_limit_bytes: int) -> str:
    advice = (
        "check that the URDF has exactly one root link and that its meshes are valid"
        if progress.total is None
        else "the model may be unstable; check masses, inertias and joint limits"
    )
    if number == signal.SIGABRT:
        advice += f", or that it fits in the memory limit ({_mib(memory_limit_bytes)})"
    return f"the engine crashed ({name}) {progress.where()}; {advice}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _mib(size: int) -> str:
    return f"{size / _MIB:g} MiB"
