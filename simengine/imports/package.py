"""An unpacked upload: which file is the main one, and where `package://` names point."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

import defusedxml
import defusedxml.ElementTree as SafeET

from simengine.assetbase import AssetRejected, quoted
from simengine.imports.sniff import USD_SUFFIXES
from simengine.imports.zipentries import label
from simengine.safefiles import locate_regular, read_regular

MESH_SUFFIXES = (".obj", ".stl", ".ply", ".glb", ".dae")
# The families a package's main file can come from, in the order they are preferred.
MAIN_SUFFIXES = {"urdf": (".urdf",), "usd": USD_SUFFIXES, "mesh": MESH_SUFFIXES}
_SHOWN = 10
_MANIFEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Package:
    """The staged files of an upload: `root` is a server path, `files` are as written."""

    root: Path
    files: tuple[str, ...]

    def main_file(self, main_file: str | None, *, fmt: str | None) -> str:
        """The main file: `main_file` if given, else the single URDF, USD stage or mesh.

        Raises:
            AssetRejected: `main_file` is not in the package, or there is none or several.
        """
        if main_file is not None:
            if main_file not in self.files:
                raise AssetRejected("main_file", f"{quoted(main_file)} is not in the package")
            return main_file
        for family, suffixes in MAIN_SUFFIXES.items():
            if fmt not in (None, family):
                continue
            found = sorted(f for f in self.files if f.lower().endswith(suffixes))
            if len(found) == 1:
                return found[0]
            if found:
                shown = ", ".join(quoted(name) for name in found[:_SHOWN])
                more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
                raise AssetRejected(
                    "main_file",
                    f"the package holds {len(found)} {family} files ({shown}{more}); "
                    "name the one to import with main_file",
                )
        wanted = "URDF, USD stage or mesh" if fmt is None else f"{fmt} file"
        raise AssetRejected("package", f"the package holds no {wanted}")

    def resolve(self, ref: str, *, base: PurePosixPath, element: str) -> PurePosixPath:
        """Where a file reference written in `base` (a folder of the package) points.

        Plain paths are relative to `base` and may use `..` as long as they stay inside;
        `package://name/rest` starts at the folder of ROS package `name`.

        Raises:
            AssetRejected: a URL scheme, an absolute path, a backslash, a path that
                leaves the package or an unknown package name.
        """
        if not ref or ref != ref.strip() or "\x00" in ref or "\\" in ref:
            raise AssetRejected(element, "the path is empty, has a backslash or whitespace")
        if ref.startswith("package://"):
            name, _, rest = ref.removeprefix("package://").partition("/")
            start, ref = self._package_folder(name, element), rest
        elif "://" in ref or ref.startswith("file:"):
            raise AssetRejected(element, "the path has a URL scheme; use a relative path")
        else:
            start = str(base)
        if ref.startswith("/"):
            raise AssetRejected(element, "the path is absolute; use a path relative to the file")
        joined = posixpath.normpath(posixpath.join(start, ref))
        if joined == ".." or joined.startswith("../") or joined in (".", ""):
            raise AssetRejected(element, "the path leaves the package")
        return PurePosixPath(joined)

    def locate(self, rel: PurePosixPath, *, element: str, what: str, max_bytes: int) -> Path:
        """The staged file `rel` (checked: regular, inside), or reject it as missing."""
        found = locate_regular(
            self.root.resolve(), rel, element=element, what=what, max_bytes=max_bytes
        )
        if found is None:
            hint = (
                "; upload a zip holding it with the files it names" if len(self.files) == 1 else ""
            )
            raise AssetRejected(
                element, f"{what} file {quoted(str(rel))} is not in the package{hint}"
            )
        return found

    def _package_folder(self, name: str, element: str) -> str:
        if not name:
            raise AssetRejected(element, "a package:// path needs a package name")
        if name not in self.packages:
            raise AssetRejected(
                element,
                f"package {quoted(name)} is not in the upload: zip the package's folder "
                "(or include its package.xml)",
            )
        return self.packages[name]

    @cached_property
    def packages(self) -> dict[str, str]:
        """ROS package names -> their folder: from package.xml files, the top folders and
        other folder names (those only when unique)."""
        folders: dict[str, list[str]] = {}
        for file in self.files:
            parts = file.split("/")[:-1]
            for depth in range(len(parts)):
                path = "/".join(parts[: depth + 1])
                if path not in folders.setdefault(parts[depth], [path]):
                    folders[parts[depth]].append(path)
        known = {name: paths[0] for name, paths in folders.items() if len(paths) == 1}
        known |= {file.split("/")[0]: file.split("/")[0] for file in self.files if "/" in file}
        for file in self.files:
            if file == "package.xml" or file.endswith("/package.xml"):
                name = self._manifest_name(file)
                if name:
                    known[name] = posixpath.dirname(file) or "."
        return known

    def _manifest_name(self, file: str) -> str | None:
        where = label(file)
        path = self.locate(
            PurePosixPath(file), element=where, what="package.xml", max_bytes=_MANIFEST_BYTES
        )
        data = read_regular(path, element=where, what="package.xml", max_bytes=_MANIFEST_BYTES)
        try:
            node = SafeET.fromstring(data, forbid_dtd=True).find("name")
        except (ET.ParseError, defusedxml.DefusedXmlException):
            return None  # a broken manifest only means the name is not known from it
        return node.text.strip() if node is not None and node.text else None
