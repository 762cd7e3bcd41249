from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from simengine import api, replay
from simengine.scenarios import SUITE
from tests.simengine.schemas import errors

# Written by the LZMA-only writer (every member method 14) that recorded replays up to
# 5969d6a: quadruped_stand, seed 7, 3 steps. Stored replays in that format must stay readable.
LZMA_REPLAY = Path(__file__).resolve().parents[1] / "fixtures" / "replay" / "lzma_members.npz"
LZMA_REPLAY_SHA256 = "5f6affb7b5588eb93445b7973579bccc781644bb6426caa46b8306192ffca20f"


@pytest.fixture(scope="module")
def quadruped() -> dict[str, object]:
    return api.run_spec({"scenario": "quadruped_stand", "seed": 3, "steps": 600})


def test_round_trip_is_bit_exact(quadruped: dict[str, object]) -> None:
    npz = quadruped["replay_npz"]
    assert isinstance(npz, bytes)
    arrays = replay.from_npz(npz)
    assert replay.trajectory_sha256(arrays) == quadruped["trajectory_sha256"]
    assert all(a.dtype == np.float32 for a in arrays.values())
    assert arrays["joint_position"].shape == (600, 12)
    assert arrays["observation"].shape == (600, 12 * 2 + 9)
    assert replay.to_npz(arrays) == npz  # deterministic bytes
    with np.load(io.BytesIO(npz)) as plain:  # readable by numpy as is
        assert np.array_equal(plain["action"], arrays["action"])


def test_manifest_matches_contract(quadruped: dict[str, object]) -> None:
    manifest = quadruped["manifest"]
    assert isinstance(manifest, dict)
    assert errors("ReplayManifest", manifest) == []
    assert manifest["trajectory_sha256"] == quadruped["trajectory_sha256"]
    assert len(manifest["joint_names"]) == 12
    assert manifest["urdf_sha256"] is None
    assert manifest["urdf_path"] is None


def test_bytes_per_step_for_the_quadruped(quadruped: dict[str, object]) -> None:
    npz = quadruped["replay_npz"]
    assert isinstance(npz, bytes)
    per_step = len(npz) / 600
    print(f"\nquadruped replay: {per_step:.1f} bytes/step")
    assert per_step <= 250


def test_columns_with_stride_and_one_step(quadruped: dict[str, object]) -> None:
    npz = quadruped["replay_npz"]
    manifest = quadruped["manifest"]
    assert isinstance(npz, bytes)
    assert isinstance(manifest, dict)
    arrays = replay.from_npz(npz)
    cols = replay.columns(arrays, stride=100)
    assert errors("ReplayColumns", cols) == []
    assert cols["step_index"] == [0, 100, 200, 300, 400, 500]
    one = replay.sim_step(manifest, arrays, 599)
    assert errors("SimStep", one) == []
    assert one["step"]["t"] == pytest.approx(600 * manifest["dt"], rel=1e-6)
    with pytest.raises(IndexError, match=r"0\.\.599"):
        replay.step(arrays, 600)


def test_replays_written_with_lzma_members_still_read() -> None:
    data = LZMA_REPLAY.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_LZMA}
    arrays = replay.from_npz(data)
    assert replay.trajectory_sha256(arrays) == LZMA_REPLAY_SHA256
    assert arrays["joint_position"].shape == (3, 12)
    assert arrays["observation"].shape == (3, 12 * 2 + 9)


@pytest.mark.parametrize("scenario", ["urdf_rollout", "quadruped_stand", "push_slide"])
def test_observations_computed_in_blocks_equal_those_measured_each_step(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A task that does not read its observation gets them computed by the recorder, a
    # block at a time; one that reads it measures every step. Same values, same replay
    # bytes: a noisy profile (so the generator's draws are split across blocks), more
    # steps than a block, and a run stopped in the middle of a block.
    spec = {"scenario": scenario, "profile": "pseudo_reality_A", "seed": 5, "dr_episode": 1}
    steps = 2 * replay.BLOCK + 37
    stopped_at = replay.BLOCK + 11

    def runs() -> list[dict[str, object]]:
        calls = iter(range(10**6))
        return [
            api.run_spec({**spec, "steps": steps}),
            api.run_spec({**spec, "steps": steps}, should_stop=lambda: next(calls) >= stopped_at),
        ]

    assert SUITE[scenario].reads_observation is False
    deferred = runs()
    monkeypatch.setattr(SUITE[scenario], "reads_observation", True)
    each_step = runs()
    for a, b in zip(deferred, each_step, strict=True):
        assert a["replay_npz"] == b["replay_npz"]
        assert a["trajectory_sha256"] == b["trajectory_sha256"]
    assert deferred[1]["metrics"]["steps"] == stopped_at  # type: ignore[index]
    observation = replay.from_npz(deferred[0]["replay_npz"])["observation"]  # type: ignore[arg-type]
    assert np.all(np.isfinite(observation))
    assert np.any(observation[1:] != observation[:-1])
