"""The composition arcs of a USD stage, checked before anything is composed.

USD composes whatever file a sublayer, reference or payload names, absolute and `../`
paths included. So every layer the stage reaches is first read on its own (`Sdf.Layer`,
nothing composed) and every asset path in it checked; only then is the stage composed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pxr import Sdf, Tf, Usd

from simengine.assetbase import AssetRejected, quoted

LAYER_SUFFIXES = (".usd", ".usda", ".usdc")

# Prim metadata whose asset paths are composed; sublayers are read from `subLayerPaths`.
_COMPOSING_KEYS = frozenset({"references", "payload"})
_SUBLAYER_KEYS = frozenset({"subLayers", "subLayerOffsets"})
_CLIP_KEYS = frozenset({"clips", "clipSets"})
_VALUE_KEYS = frozenset({"default", "timeSamples"})
_LIST_OP_ITEMS = ("explicitItems", "prependedItems", "appendedItems", "addedItems", "orderedItems")

_ABSOLUTE = "an absolute path; name files inside the package, relative to the layer"
_OUTSIDE = "the path leaves the package; name files inside it, relative to the layer"
_SCHEME = "a URL or resolver scheme; only files inside the package are used"
_MISSING = "no such file in the package"
_LINK = "the path goes through a symbolic link"
_ODD_PATH = "package-relative ([...]) and backslash paths are not supported"
_EXPRESSION = "asset path expressions are not supported"
_NOT_LAYER = "a composition arc must name a .usd, .usda or .usdc layer"
_USDZ = "a .usdz package is not composed here; unpack it into the package instead"


@dataclass(frozen=True, slots=True)
class _Arc:
    where: str  # "subLayers", "</World> references", "</World.tex> default", ...
    authored: str
    composes: bool


def stage_file(stage_path: Path, package_root: Path) -> tuple[Path, Path]:
    """The resolved package root, and the stage's root layer checked to be a file inside it."""
    relative = os.path.relpath(os.path.abspath(stage_path), os.path.abspath(package_root))
    if relative == ".." or relative.startswith(("../", "/")):
        raise AssetRejected("stage", "the stage is not inside the package")
    element = PurePosixPath(Path(relative).as_posix()).as_posix()
    if element.lower().endswith(".usdz"):
        raise AssetRejected(element, _USDZ)
    if not element.lower().endswith(LAYER_SUFFIXES):
        raise AssetRejected(element, "the stage must be a .usd, .usda or .usdc layer")
    root = package_root.resolve()
    return root, _inside(element, root, root, element=element)


def checked_layers(first: Path, root: Path) -> list[Any]:
    """Every layer the stage reaches, each opened alone and its asset paths checked."""
    layers: list[Any] = []
    queue, seen = [first], {first}
    while queue:
        path = queue.pop(0)
        name = path.relative_to(root).as_posix()
        layer = _open_layer(path, name)
        layers.append(layer)
        for arc in _arcs(layer, name):
            element = f"{name} {arc.where} {_shown(arc.authored)}"
            target = _inside(arc.authored, path.parent, root, element=element)
            if not arc.composes:
                continue
            if target.suffix.lower() == ".usdz":
                raise AssetRejected(element, _USDZ)
            if target.suffix.lower() not in LAYER_SUFFIXES:
                raise AssetRejected(element, _NOT_LAYER)
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return layers


def _open_layer(path: Path, name: str) -> Any:
    try:
        layer = Sdf.Layer.Find(str(path))
        if layer is not None:  # cached by an earlier open: read what the file holds now
            layer.Reload(force=True)
        else:
            layer = Sdf.Layer.FindOrOpen(str(path))
    except Tf.ErrorException:  # its text names the server path: never pass it on
        layer = None
    if layer is None:
        raise AssetRejected(name, "not a readable USD layer")
    return layer


def _arcs(layer: Any, name: str) -> Iterator[_Arc]:
    """Each asset path the layer holds: sublayers, list-op items, asset values, metadata."""
    sublayers = [str(path) for path in layer.subLayerPaths]
    for authored in sublayers:
        yield _Arc("subLayers", authored, composes=True)
    paths: list[Any] = []
    layer.Traverse(Sdf.Path.absoluteRootPath, paths.append)  # variants included
    composed: set[str] = set()
    asset_types = (Sdf.ValueTypeNames.Asset, Sdf.ValueTypeNames.AssetArray)
    for path in paths:
        spec = layer.GetObjectAtPath(path)
        if spec is None:
            continue
        where = "layer metadata" if path == Sdf.Path.absoluteRootPath else f"<{path}>"
        for key in spec.ListInfoKeys():
            if key in _SUBLAYER_KEYS:
                continue
            if key in _CLIP_KEYS:
                raise AssetRejected(f"{name} {where} {key}", "value clips are not supported")
            if key in _VALUE_KEYS and getattr(spec, "typeName", None) not in asset_types:
                continue  # only asset-typed values can hold asset paths; skip big arrays
            composes = key in _COMPOSING_KEYS
            for authored in _asset_paths(spec.GetInfo(key)):
                if composes:
                    composed.add(authored)
                yield _Arc(f"{where} {key}", authored, composes=composes)
    # Belt and braces: any arc pxr knows of that the walk above did not name.
    for authored in layer.GetCompositionAssetDependencies():
        if authored and authored not in composed and authored not in sublayers:
            yield _Arc("composition arc", str(authored), composes=True)


def _asset_paths(value: object) -> Iterator[str]:
    if isinstance(value, Sdf.AssetPath):
        if value.authoredPath:
            yield str(value.authoredPath)
    elif isinstance(value, (Sdf.Reference, Sdf.Payload)):
        if value.assetPath:  # empty: an internal reference
            yield str(value.assetPath)
    elif isinstance(value, (Sdf.ReferenceListOp, Sdf.PayloadListOp)):
        for items in _LIST_OP_ITEMS:  # deleted items compose nothing
            for item in getattr(value, items):
                yield from _asset_paths(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _asset_paths(item)
    elif isinstance(value, (list, tuple, Sdf.AssetPathArray)):
        for item in value:
            yield from _asset_paths(item)


def _inside(authored: str, base: Path, root: Path, *, element: str) -> Path:
    """The regular file `authored` names relative to `base`, if it is inside `root`."""
    if authored.startswith("`"):
        raise AssetRejected(element, _EXPRESSION)
    if ":" in authored:
        raise AssetRejected(element, _SCHEME)
    if any(char in authored for char in "[]\\\0"):
        raise AssetRejected(element, _ODD_PATH)
    if authored.startswith("/"):
        raise AssetRejected(element, _ABSOLUTE)
    candidate = os.path.normpath(os.path.join(base, authored))
    if not Path(candidate).is_relative_to(root):
        raise AssetRejected(element, _OUTSIDE)
    if os.path.realpath(candidate) != candidate:
        raise AssetRejected(element, _LINK)
    if not os.path.isfile(candidate):
        raise AssetRejected(element, _MISSING)
    return Path(candidate)


def _shown(authored: str) -> str:
    """The path as written, but only the last part of an absolute one (maybe a server's)."""
    if authored.startswith(("/", "\\")) or authored[1:3] in (":\\", ":/"):
        return quoted(".../" + PurePosixPath(authored.replace("\\", "/")).name)
    return quoted(authored)


def composed_stage(layers: list[Any], *, element: str) -> Any:
    """The stage of `layers[0]`, refused if it composed any layer not in `layers`."""
    try:
        stage = Usd.Stage.Open(layers[0], Usd.Stage.LoadAll)
    except Tf.ErrorException:
        stage = None
    if stage is None:
        raise AssetRejected(element, "the stage could not be composed")
    checked = {layer.realPath for layer in layers}
    for used in stage.GetUsedLayers():
        if not used.anonymous and used.realPath not in checked:
            raise AssetRejected(element, "the stage composed a layer that was not checked")
    return stage
