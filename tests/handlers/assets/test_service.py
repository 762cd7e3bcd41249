"""`AssetService.import_upload`'s progress (the bytes staged, then the child's stages) and
who clears the staging folder."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from handlers.assets.service import CHUNK, AssetFields, AssetService
from handlers.errors import AssetRefused
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings

FIELDS = AssetFields(
    name="robot", project_id=None, format=None, main_file=None, tags=(), density_kg_m3=1000.0
)
Calls = list[tuple[int, int]]


@pytest.fixture
def service(tmp_path: Path) -> AssetService:
    return AssetService(Settings(runs_dir=tmp_path, warm_spares=0))


def import_upload(service: AssetService, data: bytes, seen: Calls) -> None:
    upload = io.BytesIO(data)
    upload.seek(len(data) // 2)  # anywhere: the service copies from the start

    def record(done: int, total: int) -> None:
        seen.append((done, total))

    asyncio.run(service.import_upload(FIELDS, upload, filename="r.urdf", on_progress=record))


def test_progress_reports_the_copy_then_every_stage(service: AssetService) -> None:
    data = (EXAMPLES_DIR / "simple_robot.urdf").read_bytes()
    seen: Calls = []
    import_upload(service, data, seen)
    assert seen[0] == (len(data), len(data))  # one chunk: one call, which ends the copy
    assert seen[-1] == (5, 5)
    assert all(total == 5 for _, total in seen[1:])


def test_a_large_copy_reports_each_chunk_and_ends_complete(service: AssetService) -> None:
    data = b"\x00" * (2 * CHUNK + 10)
    seen: Calls = []
    with pytest.raises(AssetRefused):  # zeros are no robot: the child refuses them
        import_upload(service, data, seen)
    total = len(data)
    assert seen[:3] == [(CHUNK, total), (2 * CHUNK, total), (total, total)]


def test_only_a_clearing_service_removes_imports_in_progress(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, warm_spares=0)
    in_progress = AssetService(settings).store.stage("ast_" + "1" * 24)
    AssetService(settings, clear_staging=False)  # the command line's
    assert in_progress.work.is_dir()
    AssetService(settings)  # a server starting
    assert not in_progress.root.exists()
