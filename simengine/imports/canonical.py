"""A URDF from a package becomes the canonical one: `work_dir/<name>.urdf` plus `meshes/`.

The URDF is checked first as it was uploaded (structure, numbers, physics), then every
file it names is resolved inside the package, copied under a safe name and its
`filename` rewritten; nothing else in the URDF changes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from simengine.assetbase import quoted
from simengine.imports.filecopy import FileCopier
from simengine.imports.limits import ImportLimits, asset_limits
from simengine.imports.names import robot_name
from simengine.imports.package import Package
from simengine.imports.urdfwrite import write_urdf
from simengine.imports.zipentries import label
from simengine.safefiles import read_regular
from simengine.urdfcheck import file_nodes, parse_robot, parse_urdf

# pybullet's URDF parser gives a link without <inertial> this mass (one named "world": 0).
DEFAULT_MASS_KG = 1.0


@dataclass(frozen=True, slots=True)
class CanonicalUrdf:
    """The canonical URDF written, the robot's safe name and what was noticed."""

    urdf: Path
    name: str
    warnings: list[str]


def canonical_urdf(
    main: PurePosixPath,
    *,
    package: Package,
    work_dir: Path,
    limits: ImportLimits,
    fallback_name: str,
) -> CanonicalUrdf:
    """Check the URDF `main` of `package` and write its canonical copy into `work_dir`.

    Args:
        main: the URDF's path inside the package.
        package: the staged upload.
        work_dir: the canonical folder (files are created, never overwritten).
        limits: the import's limits.
        fallback_name: the robot name when the URDF's own is empty.

    Raises:
        AssetRejected: the URDF or a file it names is refused.
        PackageTooLarge: a size or triangle limit was passed.
    """
    checks = asset_limits(limits)
    where = label(str(main))
    path = package.locate(main, element=where, what="URDF", max_bytes=checks.max_urdf_bytes)
    data = read_regular(path, element=where, what="URDF", max_bytes=checks.max_urdf_bytes)
    tree = parse_urdf(data, limits=checks, physics=True)
    robot = parse_robot(data)
    warnings: list[str] = []
    copier = FileCopier(package, work_dir, limits=limits, warnings=warnings)
    for ref, node in file_nodes(robot):
        rel = package.resolve(ref.filename, base=main.parent, element=ref.element)
        if ref.kind == "mesh":
            node.set("filename", copier.mesh(rel, element=ref.element))
        else:
            node.set("filename", str(copier.texture(rel, element=ref.element)))
    name = robot_name(tree.name, fallback=fallback_name)
    urdf = work_dir / f"{name}.urdf"
    write_urdf(robot, urdf)
    return CanonicalUrdf(urdf=urdf, name=name, warnings=warnings + _missing_inertials(robot))


def link_mass(link: ET.Element) -> float:
    """The mass pybullet gives a link: its <mass>, else 1 kg (0 for a link named "world")."""
    mass = link.find("inertial/mass")
    if mass is not None:
        return float(mass.get("value", "0"))
    if link.find("inertial") is not None or link.get("name") == "world":
        return 0.0
    return DEFAULT_MASS_KG


def _missing_inertials(robot: ET.Element) -> list[str]:
    missing = [
        link.get("name", "")
        for link in robot.findall("link")
        if link.find("inertial") is None and link.get("name") != "world"
    ]
    if not missing:
        return []
    shown = ", ".join(quoted(name) for name in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return [
        f"{len(missing)} link(s) have no <inertial> ({shown}{more}); pybullet gives each "
        f"{DEFAULT_MASS_KG:g} kg and a unit inertia"
    ]
