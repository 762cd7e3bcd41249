"""The example-URDF check runs once per unchanged set of files, and again on any change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from handlers.kit.paths import EXAMPLES_DIR
from handlers.runs import urdfcache
from simengine.assets import AssetRejected


@pytest.fixture
def robot(tmp_path: Path) -> Path:
    folder = tmp_path / "robot"
    shutil.copytree(EXAMPLES_DIR / "meshes", folder / "meshes")
    urdf = folder / "arm.urdf"
    shutil.copy(EXAMPLES_DIR / "simple_arm_mesh.urdf", urdf)
    return urdf


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = urdfcache.check_urdf

    def counted(path: Path, *, root: Path) -> object:
        calls.append(path)
        return real(path, root=root)

    monkeypatch.setattr(urdfcache, "check_urdf", counted)
    return calls


def test_unchanged_files_are_checked_once(robot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    for _ in range(3):
        urdfcache.check_urdf_once(robot, root=robot.parent)
    assert calls == [robot]


def test_a_changed_urdf_is_checked_again_and_refused(
    robot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch)
    urdfcache.check_urdf_once(robot, root=robot.parent)
    robot.write_text("<robot name='broken'><link name='a'/>", encoding="utf-8")
    with pytest.raises(AssetRejected):
        urdfcache.check_urdf_once(robot, root=robot.parent)
    assert len(calls) == 2


def test_a_mesh_swapped_for_a_fifo_is_checked_again(
    robot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch)
    urdfcache.check_urdf_once(robot, root=robot.parent)
    mesh = robot.parent / "meshes" / "gripper.obj"
    mesh.unlink()
    os.mkfifo(mesh)
    with pytest.raises(AssetRejected):
        urdfcache.check_urdf_once(robot, root=robot.parent)
    assert len(calls) == 2
