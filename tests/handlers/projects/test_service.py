"""ProjectService over a real store: trimming, cursors bound to filters, counts, open checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from handlers.errors import ConflictError, NotFoundError, ValidationFailed
from handlers.projects.service import Counters, OpenProjects, ProjectService
from handlers.projects.store import ProjectStore


def _service(tmp_path: Path, **counts: int) -> ProjectService:
    counters = Counters(
        runs=lambda _: counts.get("runs", 0),
        batches=lambda _: counts.get("batches", 0),
        assets=lambda _: counts.get("assets", 0),
    )
    return ProjectService(ProjectStore(tmp_path), counters=counters)


def _create(service: ProjectService, name: str, *tags: str) -> dict[str, Any]:
    return asyncio.run(service.create(name=name, description="", tags=tags))


def test_names_are_stored_trimmed(tmp_path: Path) -> None:
    service = _service(tmp_path)
    assert _create(service, " \t Picker \u00a0")["name"] == "Picker"


@pytest.mark.parametrize("name", [" ", "\u2003\u00a0", "\u3000"])
def test_a_name_of_white_space_only_is_a_422(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        _create(_service(tmp_path), name)
    assert [e["pointer"] for e in raised.value.errors] == ["/name"]
    project = _create(_service(tmp_path), "Kept")
    with pytest.raises(ValidationFailed):
        asyncio.run(_service(tmp_path).update(project["id"], {"name": name}))


def test_get_and_update_carry_the_counts(tmp_path: Path) -> None:
    service = _service(tmp_path, runs=3, batches=1, assets=2)
    project = _create(service, "Counted")
    assert project["counts"] is None
    counts = {"assets": 2, "runs": 3, "batches": 1}
    assert service.get(project["id"])["counts"] == counts
    assert asyncio.run(service.update(project["id"], {}))["counts"] == counts
    items, _ = service.list()
    assert [item["counts"] for item in items] == [None]


def test_a_cursor_continues_only_its_own_filters(tmp_path: Path) -> None:
    service = _service(tmp_path)
    ids = [_create(service, f"P{i}", "t")["id"] for i in range(3)]
    page, cursor = service.list(tag="t", limit=2)
    assert [p["id"] for p in page] == ids[:0:-1]
    assert cursor is not None
    rest, end = service.list(tag="t", limit=2, cursor=cursor)
    assert ([p["id"] for p in rest], end) == ([ids[0]], None)
    for other in ({"tag": None}, {"tag": "t", "include_archived": True}):
        with pytest.raises(ValidationFailed) as raised:
            service.list(limit=2, cursor=cursor, **other)
        assert raised.value.errors[0]["pointer"] == "/cursor"
    with pytest.raises(ValidationFailed):
        service.list(cursor="bm90LWEtY3Vyc29y")


@pytest.mark.parametrize("limit", [0, 1001])
def test_limit_is_1_to_1000(tmp_path: Path, limit: int) -> None:
    with pytest.raises(ValidationFailed) as raised:
        _service(tmp_path).list(limit=limit)
    assert raised.value.errors[0]["pointer"] == "/limit"


def test_open_projects_refuse_unknown_and_archived_ones(tmp_path: Path) -> None:
    service = _service(tmp_path)
    directory = OpenProjects(ProjectStore(tmp_path))
    project_id = _create(service, "Open")["id"]
    directory.require_open(project_id)
    with pytest.raises(NotFoundError):
        directory.require_open("prj_0123456789abcdef01234567")
    asyncio.run(service.update(project_id, {"archived": True}))
    with pytest.raises(ConflictError, match=r'PATCH .*"archived": false'):
        directory.require_open(project_id)
    asyncio.run(service.update(project_id, {"archived": False}))
    directory.require_open(project_id)
