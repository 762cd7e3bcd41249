"""A hostile corpus of zips: each is refused naming the entry and the rule, early."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from simengine.assetbase import AssetRejected, PackageTooLarge
from simengine.imports.limits import ImportLimits
from simengine.imports.unzip import unpack
from tests.simengine.imports.builders import (
    MIB,
    RawEntry,
    fifo_info,
    symlink_info,
    write_raw_zip,
    write_zip,
    zeros_deflated,
)
from tests.simengine.imports.conftest import Importer, assert_clean_rejection, files_under

GOOD = b'<robot name="r"><link name="a"/></robot>'
LIMITS = ImportLimits()


@pytest.fixture(scope="module")
def bomb() -> tuple[bytes, int]:
    return zeros_deflated(200)


def refused(archive: Path, dest: Path, limits: ImportLimits = LIMITS) -> AssetRejected:
    dest.mkdir(exist_ok=True)
    with pytest.raises(AssetRejected) as caught:
        unpack(archive, dest, limits=limits)
    return caught.value


def test_a_plain_package_is_unpacked(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "upload.zip",
        [("robot/", b""), ("robot/r.urdf", GOOD), ("robot/meshes/m.obj", b"v 0 0 0\n")],
    )
    (tmp_path / "out").mkdir()
    names = unpack(archive, tmp_path / "out", limits=LIMITS)
    assert names == ["robot/r.urdf", "robot/meshes/m.obj"]
    assert (tmp_path / "out/robot/r.urdf").read_bytes() == GOOD


def test_macos_junk_is_skipped(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "upload.zip",
        [("r.urdf", GOOD), ("__MACOSX/._r.urdf", b"junk"), ("sub/.DS_Store", b"junk")],
    )
    (tmp_path / "out").mkdir()
    assert unpack(archive, tmp_path / "out", limits=LIMITS) == ["r.urdf"]
    assert files_under(tmp_path / "out") == {"r.urdf"}


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("../evil.urdf", "'..'"),
        ("robot/../../evil.urdf", "'..'"),
        ("/etc/evil", "absolute"),
        ("C:/evil.urdf", "absolute"),
        ("c:evil.urdf", "absolute"),
        ("robot\\..\\evil.urdf", "backslash"),
        ("robot//evil.urdf", "empty"),
        ("./evil.urdf", "'.'"),
    ],
)
def test_zip_slip_is_refused(tmp_path: Path, run_import: Importer, name: str, rule: str) -> None:
    archive = write_zip(tmp_path / "upload.zip", [("r.urdf", GOOD), (name, GOOD)])
    with pytest.raises(AssetRejected, match=rule) as caught:
        run_import(archive)
    assert caught.value.element == f"entry {name!r}"
    assert_clean_rejection(caught.value, tmp_path)


@pytest.mark.parametrize(
    ("info", "rule"),
    [(symlink_info("evil.urdf"), "symbolic link"), (fifo_info("evil.pipe"), "not a regular")],
)
def test_links_and_special_files_are_refused(
    tmp_path: Path, run_import: Importer, info: zipfile.ZipInfo, rule: str
) -> None:
    archive = write_zip(tmp_path / "upload.zip", [("r.urdf", GOOD), (info, b"/etc/passwd")])
    with pytest.raises(AssetRejected, match=rule) as caught:
        run_import(archive)
    assert caught.value.element == f"entry {info.filename!r}"
    assert_clean_rejection(caught.value, tmp_path)


def test_names_differing_only_in_case_are_duplicates(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "upload.zip", [("Robot.urdf", GOOD), ("robot.URDF", GOOD)])
    error = refused(archive, tmp_path / "out")
    assert error.element == "entry 'robot.URDF'"
    assert "duplicate of entry 'Robot.urdf'" in error.reason


def test_a_file_and_a_folder_of_one_name_are_refused(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "upload.zip", [("meshes", b"x"), ("meshes/a.obj", b"x")])
    assert "same name" in refused(archive, tmp_path / "out").reason


def test_too_many_entries(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "upload.zip", [(f"f{i}.txt", b"x") for i in range(6)])
    error = refused(archive, tmp_path / "out", ImportLimits(max_entries=5))
    assert isinstance(error, PackageTooLarge)
    assert (error.element, error.detail) == ("package", "6 entries; limit 5")


def test_a_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    archive = write_raw_zip(tmp_path / "upload.zip", [RawEntry(b"caf\xe9.urdf", GOOD)])
    assert "not UTF-8" in refused(archive, tmp_path / "out").reason


def test_utf8_names_without_the_flag_are_read_as_utf8(tmp_path: Path) -> None:
    archive = write_raw_zip(tmp_path / "upload.zip", [RawEntry("café.urdf".encode(), GOOD)])
    (tmp_path / "out").mkdir()
    assert unpack(archive, tmp_path / "out", limits=LIMITS) == ["café.urdf"]


def test_encrypted_entries_are_refused(tmp_path: Path) -> None:
    archive = write_raw_zip(tmp_path / "upload.zip", [RawEntry(b"r.urdf", GOOD, flags=0x1)])
    assert "encrypted" in refused(archive, tmp_path / "out").reason


def test_an_entry_over_the_size_limit(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "upload.zip", [("big.bin", bytes(range(256)) * 8)])
    error = refused(archive, tmp_path / "out", ImportLimits(max_entry_bytes=1000))
    assert isinstance(error, PackageTooLarge)
    assert error.element == "entry 'big.bin'"


def test_the_package_over_the_total_limit(tmp_path: Path) -> None:
    files = [(f"f{i}.bin", bytes(range(256)) * 4) for i in range(3)]
    archive = write_zip(tmp_path / "upload.zip", files)
    error = refused(archive, tmp_path / "out", ImportLimits(max_unpacked_bytes=2500))
    assert isinstance(error, PackageTooLarge)
    assert (error.element, "more than 2500 bytes" in error.reason) == ("entry 'f2.bin'", True)


def test_a_zip_bomb_is_refused_before_anything_is_written(
    tmp_path: Path, run_import: Importer, bomb: tuple[bytes, int]
) -> None:
    stream, crc = bomb
    entry = RawEntry(b"zeros.bin", stream, method=8, crc=crc, file_size=200 * MIB)
    archive = write_raw_zip(tmp_path / "upload.zip", [RawEntry(b"r.urdf", GOOD), entry])
    started = time.perf_counter()
    with pytest.raises(PackageTooLarge, match="compression ratio") as caught:
        run_import(archive)
    assert time.perf_counter() - started < 1
    assert caught.value.element == "entry 'zeros.bin'"
    assert_clean_rejection(caught.value, tmp_path)
    assert files_under(tmp_path / "work") == set()


@pytest.mark.parametrize(
    ("declared", "rule"),
    [
        # Claims 30 MiB: a plausible 150:1 by the header, but really 1000:1.
        (30 * MIB, "inflates more than 200:1"),
        # Claims 1000 bytes: the inflated bytes pass the header's size at the first chunk.
        (1000, "more than the 1000 bytes its header declares"),
    ],
)
def test_a_bomb_with_lying_headers_stops_at_the_first_chunk_past_a_limit(
    tmp_path: Path, bomb: tuple[bytes, int], declared: int, rule: str
) -> None:
    stream, crc = bomb
    entry = RawEntry(b"zeros.bin", stream, method=8, crc=crc, file_size=declared)
    archive = write_raw_zip(tmp_path / "upload.zip", [entry])
    error = refused(archive, tmp_path / "out")
    assert isinstance(error, PackageTooLarge)
    assert (error.element, rule in error.reason) == ("entry 'zeros.bin'", True)
    written = (tmp_path / "out" / "zeros.bin").stat().st_size
    assert written <= 2 * MIB  # of the 200 MiB the entry holds


def test_a_header_claiming_more_than_the_data_holds_is_damaged(tmp_path: Path) -> None:
    archive = write_raw_zip(tmp_path / "upload.zip", [RawEntry(b"r.urdf", GOOD, file_size=99)])
    assert "does not match its header" in refused(archive, tmp_path / "out").reason


def test_a_wrong_crc_is_damaged(tmp_path: Path) -> None:
    archive = write_raw_zip(tmp_path / "upload.zip", [RawEntry(b"r.urdf", GOOD, crc=1)])
    assert "CRC-32" in refused(archive, tmp_path / "out").reason


def test_an_empty_zip_is_refused(tmp_path: Path) -> None:
    archive = write_raw_zip(tmp_path / "upload.zip", [])
    assert "empty" in refused(archive, tmp_path / "out").reason


def test_a_damaged_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "upload.zip"
    archive.write_bytes(b"PK\x03\x04" + bytes(100))
    assert refused(archive, tmp_path / "out").element == "package"


def test_damaged_deflate_data_is_refused(tmp_path: Path) -> None:
    entry = RawEntry(b"r.urdf", b"\xff" * 64, method=8, file_size=100)
    archive = write_raw_zip(tmp_path / "upload.zip", [entry])
    error = refused(archive, tmp_path / "out")
    assert (error.element, "damaged" in error.reason) == ("entry 'r.urdf'", True)
