"""What a canonical URDF measures: counts, mass, bounding box at zero joints, triangles."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from simengine.imports.canonical import link_mass
from simengine.imports.frames import link_frames, origin
from simengine.imports.meshload import LoadedMesh
from simengine.types import FloatArray, JSONDict
from simengine.urdfcheck import parse_robot

# Assets larger than this are usually meshes in millimetres read as metres.
SUSPECT_EXTENT_M = 10.0


def measure(urdf: Path, meshes: Mapping[str, LoadedMesh]) -> tuple[JSONDict, list[str]]:
    """The AssetStats dict of a checked canonical URDF, and warnings.

    Args:
        urdf: the canonical URDF (already checked).
        meshes: its loaded meshes by `filename` as written in it.
    """
    robot = parse_robot(urdf.read_bytes())
    links, joints = robot.findall("link"), robot.findall("joint")
    frames = link_frames(robot)
    lows: list[FloatArray] = []
    highs: list[FloatArray] = []
    for link in links:
        frame = frames[link.get("name", "")]
        for shape in [*link.findall("visual"), *link.findall("collision")]:
            geometry = shape.find("geometry")
            if geometry is None or len(geometry) == 0:
                continue
            points, pad = _points(geometry[0], meshes)
            placed = frame @ origin(shape)
            moved = points @ placed[:3, :3].T + placed[:3, 3]
            lows.append(moved.min(axis=0) - pad)
            highs.append(moved.max(axis=0) + pad)
    warnings: list[str] = []
    if lows:
        low, high = np.min(lows, axis=0), np.max(highs, axis=0)
    else:
        low = high = np.zeros(3)
        warnings.append("the robot has no visual or collision geometry")
    size = high - low
    if float(size.max()) > SUSPECT_EXTENT_M:
        warnings.append(
            f"the robot spans {float(size.max()):.3g} m; if its meshes are in millimetres, "
            "scale them by 0.001"
        )
    stats = {
        "links": len(links),
        "joints": len(joints),
        "dof": sum(1 for joint in joints if joint.get("type") != "fixed"),
        "total_mass_kg": float(sum(link_mass(link) for link in links)),
        "bounding_box_m": {"min": _vector(low), "max": _vector(high)},
        "size_m": _vector(size),
        "triangles": sum(mesh.triangles for mesh in meshes.values()),
        "meshes": len(meshes),
        "watertight_meshes": sum(1 for mesh in meshes.values() if mesh.watertight),
        "units_suspect": float(size.max()) > SUSPECT_EXTENT_M,
    }
    return stats, warnings


def _points(shape: ET.Element, meshes: Mapping[str, LoadedMesh]) -> tuple[FloatArray, float]:
    """Points whose hull bounds `shape` in its own frame, and a radius to pad them by."""
    if shape.tag == "sphere":
        return np.zeros((1, 3)), _number(shape, "radius")
    if shape.tag == "mesh":
        scale = [float(part) for part in shape.get("scale", "1 1 1").split()]
        return meshes[shape.get("filename", "")].vertices * np.asarray(scale), 0.0
    if shape.tag == "box":
        half = np.asarray([float(part) for part in shape.get("size", "0 0 0").split()]) / 2
    elif shape.tag == "cylinder":
        radius = _number(shape, "radius")
        half = np.asarray([radius, radius, _number(shape, "length") / 2])
    elif shape.tag == "capsule":
        radius = _number(shape, "radius")
        half = np.asarray([radius, radius, _number(shape, "length") / 2 + radius])
    else:
        return np.zeros((1, 3)), 0.0
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    return signs * half, 0.0


def _number(shape: ET.Element, key: str) -> float:
    return float(shape.get(key, "0"))


def _vector(values: FloatArray) -> list[float]:
    return [float(value) for value in values]
