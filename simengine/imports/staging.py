"""The upload staged inside the work folder: unpacked if it is a zip, its main file found."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from simengine.assetbase import AssetRejected, PackageTooLarge, quoted
from simengine.imports.job import ImportJob
from simengine.imports.package import MAIN_SUFFIXES, Package
from simengine.imports.sniff import FAMILIES, USD_SUFFIXES, sniff
from simengine.imports.unzip import unpack
from simengine.imports.zipentries import label

PACKAGE_FOLDER = "package"


@dataclass(frozen=True, slots=True)
class Staged:
    """The staged upload and its main file (`element` names it in errors, `shown` in
    warnings; neither is a server path)."""

    container: str
    source_kind: str
    package: Package
    main: PurePosixPath
    element: str
    shown: str

    @property
    def family(self) -> str:
        """The source format: urdf, usd or mesh."""
        return FAMILIES[self.source_kind]


def stage(job: ImportJob, folder: Path) -> Staged:
    """Sniff the upload, copy or unpack it into `folder/package`, and pick the main file.

    Raises:
        AssetRejected: unknown or unsafe content, no or several candidate main files, or
            content that contradicts `job.format` or the main file's name.
        PackageTooLarge: a size, entry-count or compression-ratio limit was passed.
    """
    kind = sniff(job.source, element="file")
    root = folder / PACKAGE_FOLDER
    root.mkdir()
    if kind in ("zip", "usdz"):
        staged = _unpacked(job, kind, root)
    else:
        size = job.source.stat().st_size
        if size > job.limits.max_entry_bytes:
            raise PackageTooLarge("file", f"{size} bytes; limit {job.limits.max_entry_bytes}")
        name = f"upload.{kind}"
        shutil.copyfile(job.source, root / name)
        shown = quoted(job.filename) if job.filename else "the upload"
        staged = Staged("file", kind, Package(root, (name,)), PurePosixPath(name), "file", shown)
    if job.format is not None and job.format != staged.family:
        raise AssetRejected(
            "format",
            f"the content is {staged.source_kind} ({staged.family}), not {job.format}",
        )
    return staged


def _unpacked(job: ImportJob, kind: str, root: Path) -> Staged:
    package = Package(root, tuple(unpack(job.source, root, limits=job.limits)))
    if kind == "usdz":
        # A .usdz's first file is its root layer; what else it holds that layer refers to.
        layers = [name for name in package.files if name.lower().endswith(USD_SUFFIXES)]
        if not layers:
            raise AssetRejected("package", "the .usdz holds no USD layer")
        main = package.main_file(job.main_file or layers[0], fmt=None)
    else:
        main = package.main_file(job.main_file, fmt=job.format)
    element = label(main)
    content = sniff(root.joinpath(*main.split("/")), element=element)
    if content in ("zip", "usdz"):
        raise AssetRejected(element, "a zip inside the package; upload that file by itself")
    lower = main.lower()
    named = [family for family, suffixes in MAIN_SUFFIXES.items() if lower.endswith(suffixes)]
    if named and named[0] != FAMILIES[content]:
        raise AssetRejected(element, f"it is named like a {named[0]} file but holds {content}")
    if kind == "usdz":
        if FAMILIES[content] != "usd":
            raise AssetRejected(element, "the first file of a .usdz must be a USD layer")
        return Staged("file", "usdz", package, PurePosixPath(main), element, quoted(main))
    return Staged("zip", content, package, PurePosixPath(main), element, quoted(main))
