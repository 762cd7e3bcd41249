"""`AssetService.import_upload`'s progress (the bytes staged, then the child's stages) and
who clears the staging folder."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

import pytest

from handlers.assets.files import CHUNK
from handlers.assets.service import AssetFields, AssetService
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


def test_a_starting_server_removes_only_stale_staging(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, warm_spares=0, import_timeout_s=10)
    store = AssetService(settings).store
    live, stale = store.stage("ast_" + "1" * 24), store.stage("ast_" + "2" * 24)
    old = time.time() - 4 * 10 - 1  # older than four import time limits
    os.utime(stale.root, (old, old))
    AssetService(settings, clear_staging=False)  # the command line's: removes nothing
    assert stale.root.exists()
    AssetService(settings)  # a server starting beside an import in progress
    assert live.work.is_dir()
    assert not stale.root.exists()


@pytest.mark.parametrize("link", ["symlinked-folder", "hard-link", "fifo"])
def test_what_the_child_wrote_is_only_plain_folders_and_files(tmp_path: Path, link: str) -> None:
    from handlers.assets.files import inventory
    from handlers.errors import InternalError

    work = tmp_path / "work"
    (work / "meshes").mkdir(parents=True)
    (work / "robot.urdf").write_bytes(b"<robot/>")
    assert [f["path"] for f in inventory(work)] == ["robot.urdf"]
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    if link == "symlinked-folder":
        (work / "meshes" / "root").symlink_to(tmp_path)
    elif link == "hard-link":
        os.link(outside, work / "meshes" / "copy.obj")
    else:
        os.mkfifo(work / "meshes" / "pipe.obj")
    with pytest.raises(InternalError):
        inventory(work)


def test_a_full_import_slot_answers_503_after_the_wait(tmp_path: Path) -> None:
    from handlers.assets.importer import Importer
    from handlers.errors import ServiceUnavailable

    settings = Settings(runs_dir=tmp_path, import_concurrency=1, import_wait_s=0.2)
    importer = Importer(settings)

    async def second_while_first_holds() -> None:
        async with importer._slots.slot():
            with pytest.raises(ServiceUnavailable) as caught:
                async with importer._slots.slot():
                    pass
            assert caught.value.headers["Retry-After"] == "1"
        async with importer._slots.slot():  # released: the next one gets in at once
            pass

    asyncio.run(second_while_first_holds())


def test_a_cancelled_import_still_ends_and_leaves_no_staging(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, warm_spares=0)
    service = AssetService(settings)
    data = (EXAMPLES_DIR / "simple_robot.urdf").read_bytes()

    async def cancel_midway() -> None:
        request = asyncio.ensure_future(
            service.import_upload(FIELDS, io.BytesIO(data), filename="r.urdf")
        )
        await asyncio.sleep(0.05)  # the child is importing now
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        for _ in range(200):  # the import goes on to its end
            if not list((tmp_path / "assets" / ".staging").iterdir()):
                break
            await asyncio.sleep(0.05)

    asyncio.run(cancel_midway())
    assert list((tmp_path / "assets" / ".staging").iterdir()) == []
    published = [p for p in (tmp_path / "assets").iterdir() if p.name.startswith("ast_")]
    assert len(published) == 1  # whole: its document and its files
    assert (published[0] / "asset.json").is_file()
