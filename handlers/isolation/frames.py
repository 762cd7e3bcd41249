"""The parent's side of the child's pipe: decode frames into what the run has reported.

Frames are JSON (progress, result header, error) or raw bytes (the replay that follows a
result header with `has_replay`); anything else ends the run as an unreadable result.
An error frame with `has_output` (e.g. a divergence) is followed by the partial output
the run produced before it failed, framed like a result.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from handlers.isolation import failures
from handlers.isolation.child import KIND_ERROR, KIND_PROGRESS, KIND_RESULT
from handlers.isolation.failures import Failure, Progress

ProgressCallback = Callable[[int, int], None]


@dataclass(slots=True)
class ChildReport:
    """What the parent has learnt from one child so far."""

    progress: Progress = field(default_factory=Progress)
    output: dict[str, Any] | None = None
    replay: bytes | None = None
    failure: Failure | None = None
    finished: bool = False  # a final frame arrived, or the stream broke
    awaiting_replay: bool = False

    @property
    def succeeded(self) -> bool:
        """A complete result arrived and no failure."""
        return self.failure is None and self.has_output

    @property
    def has_output(self) -> bool:
        """An output arrived whole (with its replay, if one was announced)."""
        return self.output is not None and not self.awaiting_replay


@dataclass(slots=True)
class FrameReader:
    """Reads frames from one child's pipe into a `ChildReport`."""

    reader: Connection
    report: ChildReport
    max_frame_bytes: int
    memory_limit_bytes: int
    on_progress: ProgressCallback | None
    closed: bool = field(default=False, init=False)  # EOF seen, or the pipe is unusable

    def read(self) -> bool:
        """Handle one frame; False once the pipe is closed or unusable."""
        report = self.report
        try:
            data = self.reader.recv_bytes(self.max_frame_bytes)
        except EOFError:
            self.closed = True
            return False
        except OSError:
            report.failure, report.finished = failures.bad_frame("result too large"), True
            self.closed = True
            return False
        if report.awaiting_replay:
            report.replay, report.awaiting_replay, report.finished = bytes(data), False, True
            return True
        try:
            frame = json.loads(data)
        except ValueError:
            report.failure, report.finished = failures.bad_frame("not JSON"), True
            self.closed = True
            return False
        self._apply(frame if isinstance(frame, dict) else {})
        return True

    def drain(self) -> None:
        """Read what an exited child left in the pipe."""
        while not self.report.finished and self.reader.poll(0):
            if not self.read():
                return

    def _apply(self, frame: dict[str, Any]) -> None:
        report, kind = self.report, frame.get("kind")
        if kind == KIND_PROGRESS:
            done, total = frame.get("done"), frame.get("total")
            if isinstance(done, int) and isinstance(total, int):
                report.progress = Progress(done=done, total=total)
                if self.on_progress is not None:
                    self.on_progress(done, total)
            return
        if kind == KIND_RESULT and isinstance(frame.get("output"), dict):
            report.output = frame["output"]
            report.awaiting_replay = bool(frame.get("has_replay"))
            report.finished = not report.awaiting_replay
            return
        if kind == KIND_ERROR and report.failure is None:
            report.failure = failures.from_child_error(
                code=frame.get("failure_code"),
                reason=frame.get("reason"),
                exception=frame.get("exception"),
                memory_limit_bytes=self.memory_limit_bytes,
            )
            report.finished = frame.get("has_output") is not True  # else: output follows
            return
        report.failure = failures.bad_frame("unknown frame")
        report.finished = True
