"""Who the request being served is for, as the domain services see it.

`handlers/http/auth.py` enters the principal's scope around each request it admits; the
services ask `current()` which projects the caller may see (object-level authorisation,
OWASP API1) and whose idempotency keys it uses. Everything outside a request (the CLI,
workers, start-up recovery) and every request while auth is off runs unscoped.

An object of a project outside the scope is answered exactly like an object that does not
exist (404 with the same detail), so ids cannot be probed for existence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from handlers.errors import FieldError, FieldLocation, NotFoundError, ValidationFailed


@dataclass(frozen=True)
class CallerScope:
    """The caller's principal id (None: anonymous) and projects (None: every project)."""

    principal_id: str | None = None
    projects: frozenset[str] | None = None

    @classmethod
    def of(cls, principal_id: str, projects: Iterable[str]) -> CallerScope:
        """A principal's scope; no projects means every project."""
        bound = frozenset(projects)
        return cls(principal_id, bound or None)

    @property
    def limited(self) -> bool:
        """Whether the caller is bound to some projects."""
        return self.projects is not None

    def sees(self, project_id: str | None) -> bool:
        """Whether an object of `project_id` (None: of no project) is the caller's to see."""
        return self.projects is None or project_id in self.projects

    def require_visible(self, project_id: str | None, kind: str, identifier: str) -> None:
        """Raise the not-found error of `kind` when the object's project is not in scope."""
        if not self.sees(project_id):
            raise NotFoundError.resource(kind, identifier)

    def require_project(self, project_id: str) -> None:
        """Refuse to create into a project outside the scope: as if it did not exist."""
        self.require_visible(project_id, "project", project_id)

    def require_named(
        self,
        project_id: str | None,
        *,
        pointer: str = "/project_id",
        location: FieldLocation = "body",
    ) -> None:
        """A caller bound to projects must say which of them a new object goes into."""
        if self.projects is None or project_id is not None:
            return
        names = ", ".join(sorted(self.projects))
        reason = f"required: these credentials are limited to projects ({names})"
        raise ValidationFailed.for_fields(
            [FieldError(location=location, pointer=pointer, reason=reason)]
        )

    def listing(self) -> tuple[str, ...] | None:
        """The projects a listing may show (sorted), or None for "any project"."""
        if self.projects is None:
            return None
        return tuple(sorted(self.projects))


UNSCOPED = CallerScope()
_CURRENT: ContextVar[CallerScope] = ContextVar("qers_caller_scope", default=UNSCOPED)


def current() -> CallerScope:
    """The scope of the request being served (unscoped outside a request)."""
    return _CURRENT.get()


@contextmanager
def entered(scope: CallerScope) -> Iterator[CallerScope]:
    """Serve the code inside (and the tasks it starts) as `scope`."""
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)
