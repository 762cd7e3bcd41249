"""A SQLite file (WAL) shared by the processes of one host: idempotency keys, projects.

    db = SharedDatabase(path, schema=SCHEMA, unavailable=lambda exc: ServiceUnavailable(...))
    with db.session(immediate=True) as connection:  # one BEGIN IMMEDIATE transaction
        connection.execute(...)

The folder, the WAL switch and `schema` (idempotent statements) are made on first use, so
a bad RUNS_DIR fails requests, not start-up. Each session opens its own connection: the
object survives fork and needs no lock, and an IMMEDIATE session takes the write lock, so
writers in every process and thread are serialised. A database locked past the busy
timeout, a full disk and the like raise the owner's `unavailable` error (a 503).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import structlog

Synchronous = Literal["NORMAL", "FULL"]

_log = structlog.get_logger("qers.sqlite")


class SharedDatabase:
    """One SQLite file; `session()` is a connection, `session(immediate=True)` a transaction."""

    def __init__(
        self,
        path: Path,
        *,
        schema: str,
        unavailable: Callable[[sqlite3.OperationalError], Exception],
        busy_timeout_s: float = 5.0,
        synchronous: Synchronous = "FULL",
        recreate_unreadable: bool = False,
    ) -> None:
        """`recreate_unreadable`: a file that is not a database is deleted and made anew
        (only for data whose loss beats failing requests); else the error propagates."""
        self.path = path
        self._schema = schema
        self._unavailable = unavailable
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._synchronous = synchronous
        self._recreate_unreadable = recreate_unreadable
        self._ready = False
        self._ready_lock = threading.Lock()
        self._readers = threading.local()  # (pid, connection) of `reader()`, per thread

    @contextmanager
    def session(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection (autocommit), or with `immediate` one write transaction: committed
        when the block ends, rolled back if it raises."""
        if not self._ready:
            self._prepare()
        with self._connection(immediate=immediate) as db:
            yield db

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads only, kept per thread and process: a read on a hot path
        (an API key per request) skips the connect and its PRAGMAs (~0.5 ms). Autocommit,
        so each statement sees every commit made before it."""
        if not self._ready:
            self._prepare()
        kept = getattr(self._readers, "db", None)
        if kept is None or kept[0] != os.getpid():
            try:
                db = sqlite3.connect(self.path, isolation_level=None)
                db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            except sqlite3.OperationalError as exc:
                raise self._unavailable(exc) from exc
            kept = self._readers.db = (os.getpid(), db)
        try:
            yield kept[1]
        except sqlite3.OperationalError as exc:
            self._readers.db = None  # a fresh connection next time
            raise self._unavailable(exc) from exc

    def _prepare(self) -> None:
        with self._ready_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._create_schema()
            except sqlite3.DatabaseError:
                if not self._recreate_unreadable:
                    raise
                _log.warning("sqlite file unreadable; recreating it", path=str(self.path))
                for suffix in ("", "-wal", "-shm", "-journal"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
                self._create_schema()
            self._ready = True

    def _create_schema(self) -> None:
        # Several processes may do this at once (their first requests race). Switching the
        # journal mode does not wait for a busy database (SQLite's busy handler is not
        # called for it), so it is retried here until busy_timeout; the tables are made in
        # one IMMEDIATE transaction, which waits by itself.
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:  # another process is switching it now
                if time.monotonic() >= deadline:
                    raise self._unavailable(exc) from exc
                time.sleep(0.01)
            finally:
                db.close()
        with self._connection(immediate=True) as db:
            for statement in self._schema.split(";"):
                if statement.strip():
                    db.execute(statement)

    @contextmanager
    def _connection(self, *, immediate: bool) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            db.execute(f"PRAGMA synchronous = {self._synchronous}")
            if immediate:
                db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            if db.in_transaction:
                db.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # locked past the timeout, disk full, ...
            raise self._unavailable(exc) from exc
        finally:
            db.close()


def where_in(clauses: list[str], params: list[object], column: str, values: Sequence[str]) -> None:
    """Add `column IN (?, …)` for `values` to a WHERE clause list (no values: matches none)."""
    marks = ", ".join("?" * len(values))
    clauses.append(f"{column} IN ({marks})" if marks else "0")
    params.extend(values)
