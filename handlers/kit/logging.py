"""JSON-line logs through structlog, stdlib (uvicorn) included, with secrets masked."""

import json
import logging
import sys
import threading
from typing import TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from handlers.kit.redaction import redact_secrets
from handlers.kit.timestamps import rfc3339

ACCESS_LOGGER = "qers.access"
_write_lock = threading.Lock()


class _Sink:
    """Where rendered lines go: a fixed stream, else whatever `sys.stderr` is now."""

    stream: TextIO | None = None
    access_enabled = True

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        _Sink.write_line(message)

    @staticmethod
    def write_line(line: str) -> None:
        stream = _Sink.stream or sys.stderr
        with _write_lock:
            stream.write(line + "\n")
            stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _SinkHandler(logging.Handler):
    """Stdlib handler writing the formatted record to the sink."""

    def __init__(self) -> None:
        super().__init__()
        self._sink = _Sink()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._sink.msg(self.format(record))
        except Exception:
            self.handleError(record)


def log_access(
    *,
    method: str,
    route: str,
    status: int | None,
    duration_ms: float,
    request_id: str,
    principal: str | None = None,
) -> None:
    """The access line of one request, rendered directly: it is on every request's path.

    `principal`: who called (`key:<id>`, `jwt:<sub>`) when auth is on; never a secret."""
    if not _Sink.access_enabled:
        return
    # Same shape as the structlog lines, without json.dumps on the common path;
    # `request_id` always matches a strict pattern (handlers.http.requestid).
    stamp = rfc3339()
    who = f'"principal": {_json_str(principal)}, ' if principal is not None else ""
    _Sink.write_line(
        f'{{"event": "request", "method": {_json_str(method)}, "route": {_json_str(route)}, '
        f'"status": {"null" if status is None else status}, "duration_ms": {duration_ms}, '
        f'"request_id": "{request_id}", {who}"level": "info", "logger": "{ACCESS_LOGGER}", '
        f'"timestamp": "{stamp}"}}'
    )


def _json_str(value: str) -> str:
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


def _add_logger_name(logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    name = getattr(logger, "name", "")
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


def configure_logging(level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """JSON lines on stderr (or `stream`) for structlog and stdlib loggers alike."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    _Sink.stream = stream
    _Sink.access_enabled = numeric <= logging.INFO
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    render: list[Processor] = [structlog.processors.format_exc_info, redact_secrets]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *render,  # before our own keys are added: nothing of ours needs redacting
            structlog.processors.add_log_level,
            _add_logger_name,
            timestamper,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_Sink,
        # No caching: a logger must follow the latest configure_logging() (tests and
        # reconfiguration); the per-request access line bypasses structlog anyway.
        cache_logger_on_first_use=False,
    )
    handler = _SinkHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                timestamper,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *render,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SinkHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # Our access line (log_access) replaces uvicorn's.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
