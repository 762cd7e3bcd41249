"""Run ids and atomic writes."""

import os
from pathlib import Path

import pytest

from handlers.kit.atomic import TMP_PREFIX, FileSignature, write_atomic, write_atomic_many_then
from handlers.runs.ids import RUN_ID_PATTERN, is_valid_run_id, new_run_id


def test_new_run_ids_are_random_and_well_formed() -> None:
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000
    for run_id in ids:
        assert RUN_ID_PATTERN.fullmatch(run_id)
        assert run_id.startswith("run_")
        assert len(run_id) == 28
        int(run_id[4:], 16)


@pytest.mark.parametrize("value", ["run_9f2c4e1ab37d4c0e8a61b2d3", "run_id_1", "run_" + "a" * 60])
def test_contract_examples_are_valid(value: str) -> None:
    assert is_valid_run_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "../etc",
        "run_",
        "run_" + "a" * 61,
        "RUN_abc",
        "run_ABC",
        "run_a/b",
        "run_a.b",
        "run_..",
        "run_abc\n",
        ".tmp-run_abc",
        "run_abc ",
        "run_é",
        "",
        None,
        42,
    ],
)
def test_anything_else_is_invalid(value: object) -> None:
    assert not is_valid_run_id(value)


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    target.write_bytes(b"old")
    signature = write_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert signature == FileSignature.of(target.stat())
    assert os.listdir(tmp_path) == ["run.json"]


def test_each_replace_gives_a_new_signature(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    signatures = {write_atomic(target, b"same bytes") for _ in range(5)}
    # Same content and size: the new inode (or mtime) still tells the versions apart.
    assert FileSignature.of(target.stat()) in signatures
    assert len({s.encode() for s in signatures}) >= 2


def test_a_failed_replace_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "run.json"
    target.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk says no")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk says no"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(TMP_PREFIX)]


def test_write_atomic_many_then_renames_the_last_file_after_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "run.json").write_bytes(b"old")
    events: list[str] = []
    replace, fsync = os.replace, os.fsync

    def record_replace(src: str | Path, dst: str | Path) -> None:
        events.append(f"rename {Path(dst).name}")
        replace(src, dst)

    def record_fsync(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            events.append("fsync folder")
        fsync(fd)

    monkeypatch.setattr(os, "replace", record_replace)
    monkeypatch.setattr(os, "fsync", record_fsync)
    files = {"a.json": b"a", "b.npz": b"b" * 100_000}
    signature = write_atomic_many_then(tmp_path, files, "run.json", b"new")
    assert events == [
        "rename a.json",
        "rename b.npz",
        "fsync folder",
        "rename run.json",
        "fsync folder",
    ]
    assert signature == FileSignature.of((tmp_path / "run.json").stat())
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.npz", "run.json"]
    assert (tmp_path / "b.npz").read_bytes() == files["b.npz"]


def test_write_atomic_many_then_failing_leaves_the_last_file_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "run.json").write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk says no")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk says no"):
        write_atomic_many_then(tmp_path, {"a.json": b"a"}, "run.json", b"new")
    assert os.listdir(tmp_path) == ["run.json"]
    assert (tmp_path / "run.json").read_bytes() == b"old"
    with pytest.raises(ValueError, match="written last"):
        write_atomic_many_then(tmp_path, {"run.json": b"a"}, "run.json", b"new")
