"""Projects: create (behind an Idempotency-Key), list, read with counts, update, archive.

`OpenProjects.require_open` is what runs, sim jobs and batches (and asset imports) ask
before taking new work into a project. What a project holds is counted by the domains that
keep it (`Counters`, wired in `handlers.app`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from handlers.errors import ConflictError, FieldError, Forbidden, ValidationFailed
from handlers.idempotency.keys import IdempotencyStore, Outcome, StoredResponse, respond_once
from handlers.kit import caller
from handlers.kit import cursor as keyset
from handlers.projects.store import (
    Changes,
    ProjectDocument,
    ProjectStore,
    is_valid_project_id,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
_BLANK = "must contain more than white space (names are stored trimmed)"


def archived(project_id: str) -> ConflictError:
    """The 409 for new work in an archived project."""
    return ConflictError(
        f"Project {project_id} is archived; restore it with PATCH /api/projects/{project_id} "
        '{"archived": false}.'
    )


def location(project_id: str) -> str:
    """The URL of a project (the `Location` of its creation)."""
    return f"/api/projects/{project_id}"


@dataclass(frozen=True)
class Counters:
    """How much a project holds, each counted by the domain that keeps it."""

    runs: Callable[[str], int]
    batches: Callable[[str], int]
    assets: Callable[[str], int]

    def of(self, project_id: str) -> dict[str, int]:
        """The ProjectCounts of `project_id`."""
        return {
            "assets": self.assets(project_id),
            "runs": self.runs(project_id),
            "batches": self.batches(project_id),
        }


@dataclass(frozen=True, kw_only=True)
class ProjectFilters:
    """The listing's filters; a cursor continues only the query it was issued for."""

    tag: str | None
    include_archived: bool
    projects: tuple[str, ...] | None  # the caller's projects (`handlers.kit.caller`)

    def fingerprint(self) -> str:
        """A short digest of the filters."""
        return keyset.fingerprint(asdict(self))


class OpenProjects:
    """The `handlers.runs.request.ProjectDirectory` over a project store."""

    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    def require_open(self, project_id: str) -> None:
        """Return if the project exists, is the caller's and is not archived: else 404
        (the same for another caller's project as for an unknown one), or 409."""
        caller.current().require_project(project_id)
        if self._store.get(project_id)["archived"]:
            raise archived(project_id)


class ProjectService:
    """The projects of one RUNS_DIR. Writes wait for SQLite's write lock, so they run in a
    worker thread; reads (WAL) never wait and run where they are called."""

    def __init__(
        self,
        store: ProjectStore,
        *,
        counters: Counters,
        idempotency_keys: IdempotencyStore | None = None,
    ) -> None:
        self._store = store
        self._counters = counters
        self._keys = idempotency_keys

    async def submit(
        self,
        *,
        name: str,
        description: str,
        tags: Sequence[str],
        idempotency_key: str | None,
        body: Mapping[str, Any],
    ) -> Outcome:
        """`create` once per Idempotency-Key and body (same semantics as runs): the project,
        201 and its `Location`, and whether they were replayed."""

        async def first() -> StoredResponse:
            project = await self.create(name=name, description=description, tags=tags)
            return StoredResponse(201, project, {"Location": location(project["id"])})

        return await respond_once(
            self._keys, operation="createProject", key=idempotency_key, body=body, create=first
        )

    async def create(self, *, name: str, description: str, tags: Sequence[str]) -> ProjectDocument:
        """A new project (counts null, as in lists); 409 if the name is taken; 403 for a
        caller bound to projects (it could not see what it made)."""
        if caller.current().limited:
            raise Forbidden("Credentials limited to some projects cannot create projects.")
        trimmed = _trimmed(name)
        return await asyncio.to_thread(
            self._store.create, name=trimmed, description=description, tags=list(tags)
        )

    def list(
        self,
        *,
        tag: str | None = None,
        include_archived: bool = False,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> tuple[list[ProjectDocument], str | None]:
        """One page of projects, newest first, and the cursor of the next (None: last page)."""
        if not 1 <= limit <= MAX_LIMIT:
            reason = f"must be between 1 and {MAX_LIMIT}"
            error = FieldError(location="query", pointer="/limit", reason=reason)
            raise ValidationFailed.for_fields([error])
        only = caller.current().listing()
        filters = ProjectFilters(tag=tag, include_archived=include_archived, projects=only)
        fingerprint = filters.fingerprint()
        after = None
        if cursor is not None:
            after = keyset.decode_cursor(cursor, fingerprint, valid_id=is_valid_project_id)
        rows = self._store.page(
            tag=tag, include_archived=include_archived, after=after, limit=limit + 1, only=only
        )
        items = [project for _, project in rows[:limit]]
        more = len(rows) > limit
        return items, keyset.encode_cursor(rows[limit - 1][0], fingerprint) if more else None

    def get(self, project_id: str) -> ProjectDocument:
        """The project with its counts; 404 when unknown or not the caller's."""
        caller.current().require_project(project_id)
        return self._counted(self._store.get(project_id))

    async def update(self, project_id: str, changes: Mapping[str, Any]) -> ProjectDocument:
        """Apply a ProjectUpdate (absent fields keep their value); the project with counts."""
        caller.current().require_project(project_id)
        name = changes.get("name")
        tags = changes.get("tags")
        wanted = Changes(
            name=None if name is None else _trimmed(name),
            description=changes.get("description"),
            tags=None if tags is None else tuple(tags),
            archived=changes.get("archived"),
        )
        project = await asyncio.to_thread(self._store.update, project_id, wanted)
        return self._counted(project)

    def _counted(self, project: ProjectDocument) -> ProjectDocument:
        return {**project, "counts": self._counters.of(project["id"])}


def _trimmed(name: str) -> str:
    trimmed = name.strip()
    if not trimmed:
        raise ValidationFailed.at("/name", _BLANK)
    return trimmed
