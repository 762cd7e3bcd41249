"""How one run ended, as the executor tells its caller: SUCCEEDED, FAILED or CANCELLED."""

from dataclasses import dataclass
from typing import Any, Literal

from generated.models.FailureCode_schema import FailureCode
from generated.models.RunStatus_schema import RunStatus
from handlers.isolation import failures
from handlers.isolation.frames import ChildReport

# How supervision ended; "aborted": the parent itself raised (e.g. on_progress did).
Ending = Literal["reported", "exited", "timeout", "cancelled", "aborted"]


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """How one run ended: SUCCEEDED with the engine's output, FAILED, or CANCELLED.

    A FAILED or CANCELLED result carries `output` and `replay_npz` when the child
    reported what it had done before it stopped (a partial result).
    """

    status: RunStatus
    output: dict[str, Any] | None = None
    replay_npz: bytes | None = None
    failure_code: FailureCode | None = None
    failure_reason: str | None = None
    steps_done: int = 0
    steps_total: int | None = None
    wall_time_s: float = 0.0
    exit_code: int | None = None


def classify(
    report: ChildReport,
    *,
    ending: Ending,
    exit_code: int | None,
    elapsed_s: float,
    max_duration_s: float,
    cpu_limit_s: int,
    memory_limit_bytes: int,
) -> ExecutionResult:
    """The ExecutionResult for what the parent saw of the child."""
    progress = report.progress
    common: dict[str, Any] = {
        "steps_done": progress.done,
        "steps_total": progress.total,
        "wall_time_s": elapsed_s,
        "exit_code": exit_code,
    }
    if report.has_output:
        common |= {"output": report.output, "replay_npz": report.replay}
    if ending == "cancelled":
        return ExecutionResult(status=RunStatus.CANCELLED, **common)
    if report.succeeded:
        return ExecutionResult(status=RunStatus.SUCCEEDED, **common)
    failure = report.failure
    if ending == "timeout":
        failure = failures.timeout(max_duration_s=max_duration_s, progress=progress)
    elif failure is None:
        failure = failures.from_exit(
            exit_code=exit_code,
            progress=progress,
            cpu_limit_s=cpu_limit_s,
            memory_limit_bytes=memory_limit_bytes,
        )
    return ExecutionResult(
        status=RunStatus.FAILED,
        failure_code=failure.code,
        failure_reason=failure.reason,
        **common,
    )


def not_started(exc: OSError | EOFError, elapsed_s: float) -> ExecutionResult:
    """The child could not be started (the fork server is unavailable)."""
    cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    return ExecutionResult(
        status=RunStatus.FAILED,
        failure_code=FailureCode.WORKER_LOST,
        failure_reason=f"the simulation process could not be started ({cause}); retry the run",
        wall_time_s=elapsed_s,
    )
