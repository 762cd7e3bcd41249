"""What an uploaded file is, found from its content: the name is only a hint and may lie."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from simengine.assetbase import AssetRejected, quoted
from simengine.meshcheck import binary_stl_count

# Source kind -> source format; "zip" is a container, its main file decides.
FAMILIES = {
    "urdf": "urdf",
    "usda": "usd",
    "usdc": "usd",
    "usdz": "usd",
    "obj": "mesh",
    "stl": "mesh",
    "ply": "mesh",
    "glb": "mesh",
    "dae": "mesh",
}
USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")
_HEAD_BYTES = 64 * 1024
_OBJ_KEYS = frozenset(
    b"v vt vn vp f l p o g s mg usemtl mtllib cstype deg curv curv2 surf parm end".split()
)
_LOCAL_HEADER = b"PK\x03\x04"


def sniff(path: Path, *, element: str) -> str:
    """The source kind of a file (a key of `FAMILIES`, or "zip").

    Args:
        path: the file on the server.
        element: how to name the file in an error (``file`` or ``entry 'a/b.urdf'``).

    Raises:
        AssetRejected: the content is no format an import reads, or is unsafe XML.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if head.startswith((_LOCAL_HEADER, b"PK\x05\x06")):
        return "usdz" if _first_entry_is_usd(head) else "zip"
    if head.startswith(b"PXR-USDC"):
        return "usdc"
    if head.startswith(b"#usda"):
        return "usda"
    if head.startswith(b"glTF"):
        return "glb"
    if head.startswith((b"ply\n", b"ply\r\n")):
        return "ply"
    if binary_stl_count(head, size):
        return "stl"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return _xml_kind(path, element)
    if text.startswith(b"solid") and b"facet" in text:
        return "stl"
    if _looks_like_obj(head, complete=size <= _HEAD_BYTES):
        return "obj"
    raise AssetRejected(
        element,
        "format not recognised: expected a zip package, a URDF, a USD stage (usda, usdc, "
        "usdz) or a mesh (OBJ, STL, PLY, GLB, DAE)",
    )


def _first_entry_is_usd(head: bytes) -> bool:
    """A .usdz as USD writes it: its first entry is a USD layer at the top, stored
    uncompressed (USD reads the layers in place). A zip package that merely holds a stage
    (deflated, or in a folder) is an ordinary zip."""
    if not head.startswith(_LOCAL_HEADER) or len(head) < 30:
        return False
    stored = int.from_bytes(head[8:10], "little") == 0
    length = int.from_bytes(head[26:28], "little")
    name = head[30 : 30 + length].decode("utf-8", errors="replace").lower()
    return stored and "/" not in name and name.endswith(USD_SUFFIXES)


def _xml_kind(path: Path, element: str) -> str:
    try:
        with path.open("rb") as handle:
            for _, node in SafeET.iterparse(handle, events=("start",), forbid_dtd=True):
                tag = node.tag.rsplit("}", 1)[-1]
                break
            else:
                tag = ""
    except defusedxml.DefusedXmlException as error:
        kind = type(error).__name__
        reason = f"unsafe XML refused ({kind}); DTDs are not accepted"
        raise AssetRejected(element, reason) from None
    except ET.ParseError as error:
        raise AssetRejected(element, f"the file is not well-formed XML ({error})") from None
    if tag == "robot":
        return "urdf"
    if tag == "COLLADA":
        return "dae"
    raise AssetRejected(
        element, f"XML with root element <{quoted(tag, 32)[1:-1]}>: neither <robot> nor <COLLADA>"
    )


def _looks_like_obj(head: bytes, *, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    lines = head.splitlines()
    if not complete:
        lines = lines[:-1]  # the last one may be cut in the middle
    vertices = False
    for line in lines:
        tokens = line.split(maxsplit=1)
        if not tokens or tokens[0].startswith(b"#"):
            continue
        if tokens[0] not in _OBJ_KEYS:
            return False
        vertices = vertices or tokens[0] == b"v"
    return vertices
