from __future__ import annotations

from pathlib import Path

import pytest

from simengine.assetbase import AssetRejected
from simengine.imports.sniff import sniff
from tests.simengine.imports.builders import (
    RawEntry,
    box,
    obj_text,
    stl_binary,
    urdf,
    write_raw_zip,
    write_zip,
)

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
    b"<robot>&lol2;</robot>\n"
)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (urdf('<link name="a"/>'), "urdf"),
        (b"\xef\xbb\xbf\n  <robot name='x'/>", "urdf"),
        (b'<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema"/>', "dae"),
        (b"#usda 1.0\n(\n)\n", "usda"),
        (b"PXR-USDC" + bytes(80), "usdc"),
        (b"glTF\x02\x00\x00\x00" + bytes(12), "glb"),
        (b"ply\nformat ascii 1.0\nend_header\n", "ply"),
        (stl_binary(*box((1, 1, 1))), "stl"),
        (b"solid cube\n facet normal 0 0 1\n", "stl"),
        (obj_text(box((1, 1, 1))), "obj"),
        (b"# comment\nmtllib a.mtl\ns off\nv 0 0 0\nvn 0 0 1\nf 1 1 1\n", "obj"),
        (b"PK\x05\x06" + bytes(18), "zip"),
    ],
)
def test_kinds_are_found_from_content(tmp_path: Path, content: bytes, kind: str) -> None:
    path = tmp_path / "upload.bin"  # the name says nothing
    path.write_bytes(content)
    assert sniff(path, element="file") == kind


def test_a_zip_whose_first_entry_is_a_usd_layer_is_a_usdz(tmp_path: Path) -> None:
    usdz = write_raw_zip(tmp_path / "a", [RawEntry(b"robot.usdc", b"PXR-USDC" + bytes(8))])
    plain = write_zip(tmp_path / "b", [("robot.urdf", b"<robot/>"), ("x.usda", b"#usda")])
    assert (sniff(usdz, element="file"), sniff(plain, element="file")) == ("usdz", "zip")


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (bytes(range(256)) * 4, "format not recognised"),
        (b"hello world\nthis is text\n", "format not recognised"),
        (b"<html><body/></html>", "neither <robot> nor <COLLADA>"),
        (b"<1robot/>", "not well-formed"),
        (LAUGHS, "DTDs are not accepted"),
    ],
)
def test_unknown_or_unsafe_content_is_rejected(tmp_path: Path, content: bytes, text: str) -> None:
    path = tmp_path / "part.stl"
    path.write_bytes(content)
    with pytest.raises(AssetRejected, match=text) as caught:
        sniff(path, element="file")
    assert caught.value.element == "file"
