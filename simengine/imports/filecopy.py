"""Copies the files a URDF names into the canonical `meshes/` folder under safe names.

OBJ files keep their material libraries and textures (the references inside are rewritten
to the new names; a missing one is dropped with a warning, since pybullet would otherwise
go looking for it elsewhere). Meshes in other formats are converted: ASCII STL to binary
STL, PLY, GLB and DAE to OBJ.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from simengine.assetbase import TEXTURE_EXTENSIONS, AssetRejected, quoted
from simengine.imports.limits import ImportLimits, asset_limits
from simengine.imports.meshload import is_binary_stl, load_mesh
from simengine.imports.meshwrite import write_obj, write_stl
from simengine.imports.names import CanonicalNames
from simengine.imports.package import Package
from simengine.imports.sniff import FAMILIES, sniff
from simengine.meshcheck import check_obj, is_texture_key
from simengine.safefiles import check_reference, locate_regular, read_regular

FOLDER = "meshes"


class FileCopier:
    """Copies each package file once; returns its canonical path relative to `work_dir`."""

    def __init__(
        self, package: Package, work_dir: Path, *, limits: ImportLimits, warnings: list[str]
    ) -> None:
        self._package = package
        self._work_dir = work_dir
        self._limits = limits
        self._checks = asset_limits(limits)
        self._warnings = warnings
        self._names = CanonicalNames()
        self._copied: dict[PurePosixPath, str | None] = {}

    def mesh(self, rel: PurePosixPath, *, element: str) -> str:
        """Copy (or convert) the mesh `rel` of the package."""
        done = self._copied.get(rel)
        if done is not None:
            return done
        found = self._package.locate(
            rel, element=element, what="mesh", max_bytes=self._checks.max_mesh_bytes
        )
        kind = sniff(found, element=element)
        if FAMILIES.get(kind) != "mesh":
            raise AssetRejected(element, f"mesh file {quoted(str(rel))} holds {kind}, no mesh")
        if kind == "obj":
            target = self._new(rel.name, ".obj")
            self._write(target, self._rewritten_obj(found, rel.parent, element))
        elif kind == "stl" and is_binary_stl(found):
            target = self._new(rel.name, ".stl")
            shutil.copyfile(found, self._work_dir / target)
        else:
            loaded = load_mesh(found, kind=kind, element=element, limits=self._limits)
            target = self._new(rel.name, ".stl" if kind == "stl" else ".obj")
            writer = write_stl if kind == "stl" else write_obj
            writer(self._work_dir / target, loaded.vertices, loaded.mesh.faces)
            if kind != "stl":
                self._warnings.append(
                    f"mesh {quoted(str(rel))} was converted to OBJ; its materials were dropped"
                )
        self._copied[rel] = target
        return target

    def texture(self, rel: PurePosixPath, *, element: str, missing_ok: bool = False) -> str | None:
        """Copy the image `rel`; None if it is missing and `missing_ok`."""
        if rel in self._copied:
            return self._copied[rel]
        suffix = rel.suffix.lower()
        if suffix not in TEXTURE_EXTENSIONS:
            raise AssetRejected(
                element, f"texture format {suffix or '(none)'!r}; use {sorted(TEXTURE_EXTENSIONS)}"
            )
        found = locate_regular(
            self._package.root.resolve(),
            rel,
            element=element,
            what="texture",
            max_bytes=self._checks.max_texture_bytes,
        )
        if found is None and not missing_ok:
            raise AssetRejected(element, f"texture file {quoted(str(rel))} is not in the package")
        target = None
        if found is not None:
            target = self._new(rel.name, suffix)
            shutil.copyfile(found, self._work_dir / target)
        self._copied[rel] = target
        return target

    def _rewritten_obj(self, found: Path, folder: PurePosixPath, element: str) -> bytes:
        data = read_regular(
            found, element=element, what="mesh", max_bytes=self._checks.max_mesh_bytes
        )
        check_obj(data, element=element, limits=self._checks)
        lines = []
        for line in data.splitlines(keepends=True):
            tokens = line.split()
            if len(tokens) == 2 and tokens[0] == b"mtllib":
                library = self._library(folder, tokens[1].decode("utf-8"), element)
                if library is None:
                    continue
                line = b"mtllib " + library.encode() + b"\n"
            lines.append(line)
        return b"".join(lines)

    def _library(self, folder: PurePosixPath, name: str, element: str) -> str | None:
        """Copy an OBJ's material library (and its textures); its new name beside the OBJ."""
        where = f"{element} mtllib"
        rel = folder / check_reference(name, element=where, what="material library")
        if rel in self._copied:
            done = self._copied[rel]
            return None if done is None else _base(done)
        found = locate_regular(
            self._package.root.resolve(),
            rel,
            element=where,
            what="material library",
            max_bytes=self._checks.max_material_bytes,
        )
        if found is None:
            self._warnings.append(
                f"material library {quoted(str(rel))} is missing; the mesh is drawn without it"
            )
            self._copied[rel] = None
            return None
        data = read_regular(
            found, element=where, what="material", max_bytes=self._checks.max_material_bytes
        )
        lines = []
        for line in data.splitlines(keepends=True):
            tokens = line.split()
            if len(tokens) == 2 and is_texture_key(tokens[0]):
                # Textures are looked up beside the OBJ, wherever its library lies.
                image = folder / check_reference(
                    tokens[1].decode("utf-8", errors="replace"), element=where, what="texture"
                )
                copied = self.texture(image, element=where, missing_ok=True)
                if copied is None:
                    self._warnings.append(
                        f"texture {quoted(str(image))} is missing; the mesh is drawn without it"
                    )
                    continue
                line = tokens[0] + b" " + _base(copied).encode() + b"\n"
            lines.append(line)
        target = self._new(rel.name, ".mtl")
        self._write(target, b"".join(lines))
        self._copied[rel] = target
        return _base(target)

    def _new(self, name: str, suffix: str) -> str:
        (self._work_dir / FOLDER).mkdir(exist_ok=True)
        return self._names.allocate(FOLDER, name, suffix=suffix)

    def _write(self, target: str, data: bytes) -> None:
        with (self._work_dir / target).open("xb") as out:
            out.write(data)


def _base(target: str) -> str:
    return target.rsplit("/", 1)[-1]
