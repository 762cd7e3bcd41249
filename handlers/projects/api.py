"""`/api/projects` (tag `projects`): thin edges over ProjectService."""

from __future__ import annotations

from fastapi import Response

from generated.models import Project, ProjectCreate, ProjectList, ProjectUpdate
from handlers.http.responses import answer_submitted
from handlers.projects.service import ProjectService


class ProjectsApi:
    """Implements `generated.protocols.ProjectsHandler`."""

    def __init__(self, service: ProjectService) -> None:
        self._service = service

    async def list_projects(
        self,
        *,
        limit: int,
        tag: str | None,
        include_archived: bool,
        cursor: str | None,
        response: Response,
    ) -> ProjectList:
        """List projects, newest first."""
        items, next_cursor = self._service.list(
            tag=tag, include_archived=include_archived, limit=limit, cursor=cursor
        )
        return ProjectList(
            items=[Project.model_validate(i) for i in items], next_cursor=next_cursor
        )

    async def create_project(
        self, *, body: ProjectCreate, idempotency_key: str | None, response: Response
    ) -> Project:
        """Create a project (201 with its `Location`)."""
        data = body.model_dump(mode="json")
        submitted = await self._service.submit(
            name=data["name"],
            description=data["description"],
            tags=data["tags"],
            idempotency_key=idempotency_key,
            body=data,
        )
        return Project.model_validate(answer_submitted(response, submitted))

    async def get_project(self, *, project_id: str, response: Response) -> Project:
        """Return one project with its counts."""
        return Project.model_validate(self._service.get(project_id))

    async def update_project(
        self, *, body: ProjectUpdate, project_id: str, response: Response
    ) -> Project:
        """Update, archive or restore a project; the result with its counts."""
        changes = body.model_dump(mode="json")  # absent fields are left out
        return Project.model_validate(await self._service.update(project_id, changes))
