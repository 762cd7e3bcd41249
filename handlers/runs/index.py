"""The SQLite index over run folders: listing, filtering and keyset pagination.

A cache: every row can be rebuilt from the run folders, so it runs WAL, `synchronous=NORMAL`,
and a file that cannot be read or has another schema version is recreated. Not for network
filesystems: only the API host writes it (workers on other hosts write folders only).
"""

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from handlers.kit.cursor import Position
from handlers.kit.sqlite import where_in
from handlers.runs.cursor import RunFilters
from handlers.runs.ids import is_valid_run_id

RunDocument = dict[str, Any]  # a Run (contracts/schemas/Run.schema.json) as JSON

SCHEMA_VERSION = 2  # 2 added project_id; an older file is rebuilt from the folders at open
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    created_us INTEGER NOT NULL,
    status TEXT NOT NULL,
    scenario TEXT NOT NULL,
    profile TEXT NOT NULL,
    origin TEXT NOT NULL,
    batch_id TEXT,
    project_id TEXT,
    signature TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE run_tags (
    id TEXT NOT NULL,
    tag TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    PRIMARY KEY (id, tag)
) WITHOUT ROWID;
CREATE INDEX runs_by_created ON runs (created_us, id);
CREATE INDEX runs_by_status ON runs (status, created_us, id);
CREATE INDEX runs_by_scenario ON runs (scenario, created_us, id);
CREATE INDEX runs_by_status_scenario ON runs (status, scenario, created_us, id);
CREATE INDEX runs_by_profile ON runs (profile, created_us, id);
CREATE INDEX runs_by_origin ON runs (origin, created_us, id);
CREATE INDEX runs_by_batch ON runs (batch_id, created_us, id);
CREATE INDEX runs_by_project ON runs (project_id, created_us, id);
CREATE INDEX run_tags_by_tag ON run_tags (tag, created_us, id);
"""
# Filter name -> column; the tag filter goes through run_tags instead.
_COLUMNS = ("status", "scenario", "profile", "origin", "batch_id", "project_id")
_NULLABLE = frozenset({"batch_id", "project_id"})
_INSERT_RUN = (
    f"INSERT OR REPLACE INTO runs (id, created_us, {', '.join(_COLUMNS)}, signature, document)"  # noqa: S608
    f" VALUES ({', '.join('?' * (len(_COLUMNS) + 4))})"
)


class RunDocumentError(ValueError):
    """A run document lacks a field the index needs (a bug in the caller, or a bad file)."""


def created_us(created_at: object) -> int:
    """`created_at` (RFC 3339) as microseconds since the epoch; naive means UTC."""
    if not isinstance(created_at, str):
        raise RunDocumentError("created_at must be an RFC 3339 string")
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError as exc:
        raise RunDocumentError(f"created_at is not RFC 3339: {created_at!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class IndexEntry:
    """One run as the index stores it."""

    run_id: str
    position: Position
    columns: Mapping[str, str | None]
    tags: tuple[str, ...]
    signature: str
    document: str

    @classmethod
    def from_document(cls, run: Mapping[str, Any], *, signature: str) -> "IndexEntry":
        """The entry for `run`, whose run.json has `signature`.

        Raises:
            RunDocumentError: a field the index needs is missing or mistyped.
        """
        run_id = run.get("id")
        if not is_valid_run_id(run_id):
            raise RunDocumentError("id is not a valid run id")
        assert isinstance(run_id, str)
        columns: dict[str, str | None] = {}
        for name in _COLUMNS:
            value = run.get(name)
            if not isinstance(value, str) and not (name in _NULLABLE and value is None):
                raise RunDocumentError(f"{name} must be a string")
            columns[name] = value
        tags = run.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise RunDocumentError("tags must be a list of strings")
        document = json.dumps(run, separators=(",", ":"), ensure_ascii=False)
        position = Position(created_us(run.get("created_at")), run_id)
        return cls(run_id, position, columns, tuple(dict.fromkeys(tags)), signature, document)


class RunIndex:
    """A thread-safe handle on the index database (one connection behind a lock)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> "RunIndex":
        """Open the index at `path`, recreating it empty if unreadable or outdated."""
        try:
            return cls(_connect(path))
        except sqlite3.DatabaseError:
            for suffix in ("", "-wal", "-shm", "-journal"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            return cls(_connect(path))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def signatures(self) -> dict[str, str]:
        """Every indexed run id with the run.json signature it was indexed from."""
        with self._lock:
            return dict(self._db.execute("SELECT id, signature FROM runs").fetchall())

    def status_of(self) -> dict[str, str]:
        """Every indexed run id with its status (for checks and tests)."""
        with self._lock:
            return dict(self._db.execute("SELECT id, status FROM runs").fetchall())

    def apply(
        self,
        *,
        upsert: Iterable[IndexEntry] = (),
        remove: Iterable[str] = (),
        replace_all: bool = False,
        expected: Mapping[str, str | None] | None = None,
    ) -> None:
        """Insert or replace `upsert` and delete `remove` (or every other row), atomically.

        Args:
            upsert: entries to write.
            remove: run ids to delete.
            replace_all: delete every row first.
            expected: if given, a run is only written or deleted while its indexed
                signature is still this one (None: not indexed); a writer that got
                there in between knew better.
        """
        with self._transaction() as db:
            if replace_all:
                db.execute("DELETE FROM runs")
                db.execute("DELETE FROM run_tags")

            def unchanged(run_id: str) -> bool:
                if expected is None:
                    return True
                row = db.execute("SELECT signature FROM runs WHERE id = ?", (run_id,)).fetchone()
                return (row[0] if row else None) == expected.get(run_id)

            for run_id in remove:
                if unchanged(run_id):
                    db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                    db.execute("DELETE FROM run_tags WHERE id = ?", (run_id,))
            for entry in upsert:
                if unchanged(entry.run_id):
                    _write_entry(db, entry)

    def page(
        self, filters: RunFilters, *, after: Position | None, limit: int
    ) -> list[tuple[Position, str]]:
        """Up to `limit` runs (position, JSON text) matching `filters`, newest first.

        Args:
            filters: AND-combined filters.
            after: the position of the previous page's last run, or None for the first.
            limit: the most documents to return.
        """
        sql, params = _page_query(filters, after=after, limit=limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [(Position(created, run_id), document) for created, run_id, document in rows]

    def count(self, filters: RunFilters) -> int:
        """How many runs match `filters` (one index range: see `_page_query`)."""
        source, _, clauses, params = _selection(filters)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            row = self._db.execute(f"SELECT COUNT(*) FROM {source}{where}", params).fetchone()  # noqa: S608
        return int(row[0])

    def explain(self, filters: RunFilters, *, after: Position | None) -> list[str]:
        """SQLite's query plan for a page (for tests and the bench)."""
        sql, params = _page_query(filters, after=after, limit=1)
        with self._lock:
            rows = self._db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return [str(row[-1]) for row in rows]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        if db.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise sqlite3.DatabaseError("index failed quick_check")
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            _recreate_schema(db)
    except BaseException:
        db.close()
        raise
    return db


def _recreate_schema(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    for (name,) in tables:
        db.execute(f'DROP TABLE IF EXISTS "{name}"')
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.execute("COMMIT")


def _write_entry(db: sqlite3.Connection, entry: IndexEntry) -> None:
    columns = (entry.columns[name] for name in _COLUMNS)
    row = (entry.run_id, entry.position.created_us, *columns, entry.signature, entry.document)
    db.execute(_INSERT_RUN, row)
    db.execute("DELETE FROM run_tags WHERE id = ?", (entry.run_id,))
    db.executemany(
        "INSERT INTO run_tags (id, tag, created_us) VALUES (?, ?, ?)",
        [(entry.run_id, tag, entry.position.created_us) for tag in entry.tags],
    )


def _page_query(
    filters: RunFilters, *, after: Position | None, limit: int
) -> tuple[str, list[object]]:
    # With a tag, walk run_tags (tag, created_us, id) newest first and join the runs;
    # otherwise walk one of the runs indexes. Either way the order columns end every
    # index, so a page costs about `limit` index steps, not the size of the store.
    source, driver, clauses, params = _selection(filters)
    if after is not None:
        clauses.append(f"({driver}.created_us, {driver}.id) < (?, ?)")
        params += [after.created_us, after.item_id]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    order = f" ORDER BY {driver}.created_us DESC, {driver}.id DESC LIMIT ?"
    return f"SELECT r.created_us, r.id, r.document FROM {source}{where}{order}", [*params, limit]  # noqa: S608


def _selection(filters: RunFilters) -> tuple[str, str, list[str], list[object]]:
    """FROM source, the table that drives the order, WHERE clauses and their parameters."""
    clauses: list[str] = []
    params: list[object] = []
    source, driver = "runs AS r", "r"
    if filters.tag is not None:
        source, driver = "run_tags AS t JOIN runs AS r ON r.id = t.id", "t"
        clauses.append("t.tag = ?")
        params.append(filters.tag)
    for name in _COLUMNS:
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"r.{name} = ?")
            params.append(value)
    if filters.projects is not None:  # a caller bound to projects sees only theirs
        where_in(clauses, params, "r.project_id", filters.projects)
    return source, driver, clauses, params
