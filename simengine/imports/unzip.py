"""Safe extraction of an uploaded zip: our own loop over checked entries, never extractall.

Each entry is inflated in chunks while its bytes, the package's bytes and both compression
ratios (against the compressed bytes actually consumed) are counted, so a header that lies
about sizes stops the extraction at the first chunk past a limit.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from simengine.assetbase import AssetRejected, PackageTooLarge
from simengine.imports.limits import ImportLimits
from simengine.imports.zipentries import RATIO_FLOOR_BYTES, Entry, check_entries, label

CHUNK_BYTES = 64 * 1024
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class _Budget:
    """Bytes written and compressed bytes consumed, for one entry and for the package."""

    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.total_out = self.total_in = 0

    def charge(self, entry: Entry, *, out: int, consumed: int, added: int, used: int) -> None:
        """Account `added` bytes more for `entry` (`out` so far, from `consumed`)."""
        where, limits, info = label(entry.name), self.limits, entry.info
        self.total_out += added
        self.total_in += used
        if out > info.file_size:
            raise PackageTooLarge(
                where, f"it unpacks to more than the {info.file_size} bytes its header declares"
            )
        if out > limits.max_entry_bytes:
            raise PackageTooLarge(where, f"unpacks past {limits.max_entry_bytes} bytes")
        if self.total_out > limits.max_unpacked_bytes:
            raise PackageTooLarge(
                where, f"the package unpacks to more than {limits.max_unpacked_bytes} bytes"
            )
        ratio = limits.max_compression_ratio
        if out > RATIO_FLOOR_BYTES and out > ratio * consumed:
            raise PackageTooLarge(where, f"it inflates more than {ratio:g}:1 (compression ratio)")
        if self.total_out > RATIO_FLOOR_BYTES and self.total_out > ratio * self.total_in:
            raise PackageTooLarge(
                where, f"the package inflates more than {ratio:g}:1 (compression ratio)"
            )


def unpack(archive: Path, dest: Path, *, limits: ImportLimits) -> list[str]:
    """Extract the checked entries of the zip `archive` into the empty folder `dest`.

    Returns:
        The names of the extracted files, as written in the package (macOS junk skipped).

    Raises:
        AssetRejected: the zip is damaged or an entry is refused (see `check_entries`).
        PackageTooLarge: a size, count or compression-ratio limit was passed.
    """
    try:
        with zipfile.ZipFile(archive) as opened:
            entries = check_entries(opened, limits=limits)
    except (zipfile.BadZipFile, UnicodeError, ValueError, EOFError, OSError):
        raise AssetRejected("package", "the zip package is damaged or not a zip file") from None
    budget = _Budget(limits)
    names: list[str] = []
    with archive.open("rb") as raw:
        for entry in entries:
            if not entry.extract:
                continue
            target = dest.joinpath(*entry.name.rstrip("/").split("/"))
            if entry.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _extract(raw, entry, target, budget)
            names.append(entry.name)
    return names


def _extract(raw: BinaryIO, entry: Entry, target: Path, budget: _Budget) -> None:
    info, where = entry.info, label(entry.name)
    raw.seek(info.header_offset)
    header = raw.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise AssetRejected(where, "its local header is missing or damaged")
    _, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left, fed, out, crc, charged_in = info.compress_size, 0, 0, 0, 0
    try:
        fd = os.open(target, _WRITE_FLAGS, 0o644)
    except FileExistsError:
        raise AssetRejected(where, "the entry is extracted twice") from None
    with os.fdopen(fd, "wb") as sink:
        while left > 0 and not (inflater is not None and inflater.eof):
            data = raw.read(min(CHUNK_BYTES, left))
            if not data:
                break
            left -= len(data)
            fed += len(data)
            while data:
                if inflater is None:
                    piece, data, consumed = data, b"", fed
                else:
                    try:
                        piece = inflater.decompress(data, CHUNK_BYTES)
                    except zlib.error:
                        raise AssetRejected(where, "its compressed data is damaged") from None
                    data = b"" if inflater.eof else inflater.unconsumed_tail
                    consumed = fed - len(inflater.unconsumed_tail) - len(inflater.unused_data)
                out += len(piece)
                # Counted before writing: nothing past a limit reaches the disk.
                budget.charge(
                    entry, out=out, consumed=consumed, added=len(piece), used=consumed - charged_in
                )
                charged_in = consumed
                crc = zlib.crc32(piece, crc)
                sink.write(piece)
    if inflater is not None and not inflater.eof:
        raise AssetRejected(where, "its compressed data is truncated or damaged")
    if out != info.file_size or crc != info.CRC:
        raise AssetRejected(where, "its content does not match its header (size or CRC-32)")
