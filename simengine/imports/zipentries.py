"""The entries of an uploaded zip, each checked from the central directory before extraction.

Nothing here trusts the archive: names that climb out (`..`, absolute, `C:`, backslashes),
links, devices, names that collide once case is ignored, encrypted entries and sizes or
compression ratios past the limits are refused, naming the entry as it is written.
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass

from simengine.assetbase import AssetRejected, PackageTooLarge, quoted
from simengine.imports.limits import ImportLimits

# Small entries may compress very well (a file of spaces); the ratio limit starts above this.
RATIO_FLOOR_BYTES = 1024 * 1024
METHODS = {zipfile.ZIP_STORED: "store", zipfile.ZIP_DEFLATED: "deflate"}
_DRIVE = re.compile(r"[A-Za-z]:")
_FLAG_ENCRYPTED, _FLAG_UTF8 = 0x1, 0x800
_MAX_NAME, _MAX_SEGMENT = 1024, 255
# Junk that macOS adds to every zip it makes; checked like the rest, but never extracted.
_MACOS_JUNK = ("__MACOSX/", ".DS_Store")


@dataclass(frozen=True, slots=True)
class Entry:
    """A checked entry: `name` as written (with `/` after a folder), its header, and whether
    it is extracted at all."""

    name: str
    info: zipfile.ZipInfo
    is_dir: bool
    extract: bool


def label(name: str) -> str:
    """How errors name an entry."""
    return f"entry {quoted(name)}"


def check_entries(archive: zipfile.ZipFile, *, limits: ImportLimits) -> list[Entry]:
    """Every entry of `archive`, checked; raise on the first one that is refused.

    Raises:
        AssetRejected: an unsafe name or type, a duplicate, an encrypted entry, a method
            other than store or deflate, or an empty package.
        PackageTooLarge: too many entries, or declared sizes or ratios over the limits.
    """
    infos = archive.infolist()
    if not infos:
        raise AssetRejected("package", "the zip package is empty")
    if len(infos) > limits.max_entries:
        raise PackageTooLarge("package", f"{len(infos)} entries; limit {limits.max_entries}")
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    files: set[str] = set()
    folders: set[str] = set()
    declared = compressed = 0
    for info in infos:
        name = _decoded_name(info)
        where = label(name)
        _check_name(name, where)
        _check_type(info, where)
        is_dir = name.endswith("/")
        key = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
        if key in seen:
            raise AssetRejected(
                where, f"duplicate of entry {quoted(seen[key])} (names are compared ignoring case)"
            )
        seen[key] = name
        parents = key.split("/")[:-1]
        prefixes = {"/".join(parents[: i + 1]) for i in range(len(parents))}
        if (key in files and is_dir) or (key in folders and not is_dir) or prefixes & files:
            raise AssetRejected(where, "a file and a folder of the same name")
        folders |= prefixes | ({key} if is_dir else set())
        if not is_dir:
            files.add(key)
            _check_declared(info, where, limits)
            declared += info.file_size
            compressed += info.compress_size
            if declared > limits.max_unpacked_bytes:
                raise PackageTooLarge(
                    where, f"the package unpacks to more than {limits.max_unpacked_bytes} bytes"
                )
        entries.append(Entry(name, info, is_dir, extract=not _is_junk(name)))
    if declared > RATIO_FLOOR_BYTES and declared > limits.max_compression_ratio * compressed:
        raise PackageTooLarge(
            "package",
            f"the package's compression ratio exceeds {limits.max_compression_ratio:g}:1",
        )
    return entries


def _decoded_name(info: zipfile.ZipInfo) -> str:
    name = info.orig_filename
    if info.flag_bits & _FLAG_UTF8 or name.isascii():
        return name
    # Without the UTF-8 flag zipfile decodes as cp437; most tools really wrote UTF-8.
    try:
        return name.encode("cp437").decode("utf-8")
    except UnicodeError:
        raise AssetRejected(
            label(name), "the entry name is not UTF-8; re-create the zip with UTF-8 names"
        ) from None


def _check_name(name: str, where: str) -> None:
    if not name or len(name) > _MAX_NAME or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise AssetRejected(where, "the entry name is empty, too long or has control characters")
    if "\\" in name:
        raise AssetRejected(where, "the entry name contains a backslash; use '/'")
    if name.startswith("/") or _DRIVE.match(name):
        raise AssetRejected(where, "the entry name is an absolute path")
    segments = name.rstrip("/").split("/")
    if ".." in segments:
        raise AssetRejected(where, "the entry name contains '..'; it would land outside")
    if any(s in ("", ".") or len(s.encode()) > _MAX_SEGMENT for s in segments):
        raise AssetRejected(where, "the entry name has an empty, '.' or over-long segment")


def _check_type(info: zipfile.ZipInfo, where: str) -> None:
    if info.flag_bits & _FLAG_ENCRYPTED:
        raise AssetRejected(where, "the entry is encrypted")
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise AssetRejected(where, "the entry is a symbolic link; links are not accepted")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise AssetRejected(where, "the entry is not a regular file or folder")
    if kind == stat.S_IFDIR and not info.orig_filename.endswith("/"):
        raise AssetRejected(where, "a folder entry whose name does not end with '/'")


def _check_declared(info: zipfile.ZipInfo, where: str, limits: ImportLimits) -> None:
    if info.compress_type not in METHODS:
        raise AssetRejected(
            where, f"compression method {info.compress_type} is not supported; use deflate"
        )
    if info.file_size > limits.max_entry_bytes:
        raise PackageTooLarge(
            where, f"unpacks to {info.file_size} bytes; limit {limits.max_entry_bytes}"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
        raise PackageTooLarge(
            where,
            f"compression ratio {ratio:.0f}:1; limit {limits.max_compression_ratio:g}:1",
        )


def _is_junk(name: str) -> bool:
    return name.startswith(_MACOS_JUNK[0]) or name.rsplit("/", 1)[-1] == _MACOS_JUNK[1]
