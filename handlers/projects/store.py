"""Projects in SQLite (`RUNS_DIR/.projects.sqlite3`): the truth, shared by every process.

Unlike the run index this file is not a cache: nothing can rebuild it, so it is written with
`synchronous = FULL` and an unreadable file is an error, never recreated. Names are unique
per server compared trimmed and case-folded: `name_key` holds that form under a UNIQUE
constraint, and every write is one `BEGIN IMMEDIATE` transaction, so two creates (or a
create and a rename) of one name in any threads or processes cannot both succeed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from handlers.errors import ConflictError, NotFoundError, ServiceUnavailable
from handlers.kit.cursor import Position
from handlers.kit.ids import id_pattern, matches, new_id
from handlers.kit.sqlite import SharedDatabase, where_in
from handlers.kit.timestamps import rfc3339

PROJECTS_FILE = ".projects.sqlite3"
PROJECT_ID_PREFIX = "prj_"
PROJECT_ID_PATTERN = id_pattern(PROJECT_ID_PREFIX)
UNAVAILABLE = "Project storage is busy or unavailable; retry later."
ProjectDocument = dict[str, Any]  # a Project (contracts/schemas/Project.schema.json) as JSON

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    archived INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS project_tags (
    id TEXT NOT NULL,
    tag TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    PRIMARY KEY (id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS projects_by_created ON projects (created_us, id);
CREATE INDEX IF NOT EXISTS projects_by_archived ON projects (archived, created_us, id);
CREATE INDEX IF NOT EXISTS project_tags_by_tag ON project_tags (tag, created_us, id);
"""
_FIELDS = "id, name, description, tags, archived, created_at, updated_at"

_log = structlog.get_logger("qers.projects")


def name_key(name: str) -> str:
    """The form in which names are unique: trimmed and case-folded."""
    return name.strip().casefold()


def is_valid_project_id(value: object) -> bool:
    """Whether `value` matches the contract's ProjectId pattern."""
    return matches(PROJECT_ID_PATTERN, value)


def name_taken(name: str, existing_id: str, existing_name: str) -> ConflictError:
    """The 409 for a name another project has (compared trimmed and case-folded)."""
    return ConflictError(
        f"The name {name!r} is taken by project {existing_id} ({existing_name!r}); names are "
        "compared trimmed and case-folded."
    )


@dataclass(frozen=True)
class Changes:
    """What a PATCH sets; None: keep the value."""

    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None
    archived: bool | None = None


@dataclass(frozen=True)
class _Fields:
    """The values a PATCH may change."""

    name: str
    description: str
    tags: tuple[str, ...]
    archived: bool

    def changed(self, changes: Changes) -> _Fields:
        given = {name: value for name, value in vars(changes).items() if value is not None}
        return replace(self, **given)


class ProjectStore:
    """The projects of one RUNS_DIR; each call is one short SQLite session."""

    def __init__(self, runs_dir: Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = runs_dir / PROJECTS_FILE
        self._db = SharedDatabase(
            self.path, schema=_SCHEMA, unavailable=_unavailable, busy_timeout_s=busy_timeout_s
        )

    def create(self, *, name: str, description: str, tags: Sequence[str]) -> ProjectDocument:
        """Store a new project named `name` (already trimmed).

        Raises:
            ConflictError: another project has this name.
        """
        now = datetime.now(UTC)
        project_id, at, created = new_id(PROJECT_ID_PREFIX), rfc3339(now), _epoch_us(now)
        with self._db.session(immediate=True) as db:
            _refuse_taken(db, name, project_id)
            db.execute(
                "INSERT INTO projects (id, name, name_key, description, tags, archived,"
                " created_us, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (project_id, name, name_key(name), description, _encode(tags), created, at, at),
            )
            _put_tags(db, project_id, tags, created)
            return _document(db, project_id)

    def get(self, project_id: str) -> ProjectDocument:
        """One project (counts null); NotFoundError when unknown."""
        with self._db.session() as db:
            return _document(db, project_id)

    def update(self, project_id: str, changes: Changes) -> ProjectDocument:
        """Apply `changes`; `updated_at` moves only when a value really changes.

        Raises:
            NotFoundError: no such project.
            ConflictError: the new name is another project's.
        """
        with self._db.session(immediate=True) as db:
            old = _document(db, project_id)
            before = _Fields(old["name"], old["description"], tuple(old["tags"]), old["archived"])
            after = before.changed(changes)
            if after == before:
                return old
            _refuse_taken(db, after.name, project_id)
            db.execute(
                "UPDATE projects SET name = ?, name_key = ?, description = ?, tags = ?,"
                " archived = ?, updated_at = ? WHERE id = ?",
                (
                    after.name,
                    name_key(after.name),
                    after.description,
                    _encode(after.tags),
                    int(after.archived),
                    rfc3339(),
                    project_id,
                ),
            )
            if after.tags != before.tags:
                db.execute("DELETE FROM project_tags WHERE id = ?", (project_id,))
                query = "SELECT created_us FROM projects WHERE id = ?"
                (created,) = db.execute(query, (project_id,)).fetchone()
                _put_tags(db, project_id, after.tags, created)
            return _document(db, project_id)

    def page(
        self,
        *,
        tag: str | None,
        include_archived: bool,
        after: Position | None,
        limit: int,
        only: tuple[str, ...] | None = None,
    ) -> list[tuple[Position, ProjectDocument]]:
        """Up to `limit` projects after `after`, newest first (created_at, then id, DESC);
        `only`: just these ids (a caller bound to projects)."""
        # As the run index: walk (tag,) created_us, id newest first, so a page costs about
        # `limit` index steps.
        driver = "t" if tag is not None else "p"
        source = "project_tags AS t JOIN projects AS p ON p.id = t.id" if tag else "projects AS p"
        clauses: list[str] = []
        params: list[object] = []
        if tag is not None:
            clauses.append("t.tag = ?")
            params.append(tag)
        if not include_archived:
            clauses.append("p.archived = 0")
        if only is not None:
            where_in(clauses, params, "p.id", only)
        if after is not None:
            clauses.append(f"({driver}.created_us, {driver}.id) < (?, ?)")
            params += [after.created_us, after.item_id]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order = f" ORDER BY {driver}.created_us DESC, {driver}.id DESC LIMIT ?"
        fields = ", ".join(f"p.{name}" for name in _FIELDS.split(", "))
        sql = f"SELECT p.created_us, {fields} FROM {source}{where}{order}"  # noqa: S608
        with self._db.session() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return [(Position(row[0], row[1]), _from_row(row[1:])) for row in rows]


def _refuse_taken(db: sqlite3.Connection, name: str, project_id: str) -> None:
    # Inside the write transaction, so the answer holds until it commits; the UNIQUE
    # constraint would refuse the write anyway, this names the project that has the name.
    row = db.execute(
        "SELECT id, name FROM projects WHERE name_key = ? AND id != ?",
        (name_key(name), project_id),
    ).fetchone()
    if row is not None:
        raise name_taken(name, row[0], row[1])


def _put_tags(db: sqlite3.Connection, project_id: str, tags: Iterable[str], created: int) -> None:
    db.executemany(
        "INSERT INTO project_tags (id, tag, created_us) VALUES (?, ?, ?)",
        [(project_id, tag, created) for tag in dict.fromkeys(tags)],
    )


def _document(db: sqlite3.Connection, project_id: str) -> ProjectDocument:
    row = db.execute(f"SELECT {_FIELDS} FROM projects WHERE id = ?", (project_id,)).fetchone()  # noqa: S608
    if row is None:
        raise NotFoundError.resource("project", project_id)
    return _from_row(row)


def _from_row(row: Sequence[Any]) -> ProjectDocument:
    project_id, name, description, tags, archived, created_at, updated_at = row
    return {
        "id": project_id,
        "name": name,
        "description": description,
        "tags": json.loads(tags),
        "archived": bool(archived),
        "created_at": created_at,
        "updated_at": updated_at,
        "counts": None,
    }


def _encode(tags: Iterable[str]) -> str:
    return json.dumps(list(tags), separators=(",", ":"), ensure_ascii=False)


def _epoch_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _unavailable(exc: sqlite3.OperationalError) -> ServiceUnavailable:
    _log.warning("project store unavailable", error=str(exc))
    return ServiceUnavailable(UNAVAILABLE, retry_after_s=1)
