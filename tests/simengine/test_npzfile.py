"""The replay npz writer: its codec by archive size, plain zip framing, the same bytes anywhere."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from simengine import npzfile, replay
from simengine.types import Float32Array

ROOT = Path(__file__).resolve().parents[2]
SHORT, LONG = 50, 720  # steps of a 12-DoF replay: 20,280 and 274,880 bytes of arrays


def synthetic(steps: int, dof: int = 12) -> dict[str, Float32Array]:
    """Seeded random walks shaped like the replay of a `dof`-joint robot."""
    rng = np.random.default_rng(steps)
    widths = {"t": 0, "base_position": 3, "base_orientation": 4, "base_linear_velocity": 3}
    widths |= {"base_angular_velocity": 3, "observation": 2 * dof + 9}
    arrays = {}
    for name in replay.COLUMNS:
        width = widths.get(name, dof)
        shape = (steps, width) if width else (steps,)
        arrays[name] = np.cumsum(rng.normal(scale=1e-3, size=shape), axis=0).astype(np.float32)
    return arrays


@pytest.mark.parametrize(("steps", "method"), [(SHORT, zipfile.ZIP_DEFLATED), (LONG, 14)])
def test_short_replays_are_deflate_and_long_ones_lzma(steps: int, method: int) -> None:
    arrays = synthetic(steps)
    raw = sum(array.nbytes + 128 for array in arrays.values())  # 128: each .npy header
    assert (raw < npzfile.LZMA_FROM_BYTES) == (steps == SHORT)
    with zipfile.ZipFile(io.BytesIO(replay.to_npz(arrays))) as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos] == [f"{name}.npy" for name in replay.COLUMNS]
        assert {info.compress_type for info in infos} == {method}
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.testzip() is None  # every CRC matches


@pytest.mark.parametrize("steps", [SHORT, LONG])
def test_round_trip_of_every_column_is_bit_exact(steps: int) -> None:
    arrays = synthetic(steps)
    data = replay.to_npz(arrays)
    back = replay.from_npz(data)
    with np.load(io.BytesIO(data), allow_pickle=False) as plain:  # numpy reads it as is
        for name in replay.COLUMNS:
            assert back[name].dtype == np.float32
            assert back[name].tobytes() == arrays[name].tobytes()
            assert np.array_equal(plain[name], arrays[name])
    assert replay.trajectory_sha256(back) == replay.trajectory_sha256(arrays)


def test_the_codec_follows_the_archive_total() -> None:
    just_under = npzfile.write_zip([("a.npy", bytes(npzfile.LZMA_FROM_BYTES - 1))])
    halves = [("a.npy", b"a" * (npzfile.LZMA_FROM_BYTES // 2))] * 2
    for data, method in ((just_under, zipfile.ZIP_DEFLATED), (npzfile.write_zip(halves), 14)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {info.compress_type for info in archive.infolist()} == {method}
            assert archive.testzip() is None


_DIGESTS = """
import hashlib
from simengine import replay
from tests.simengine.test_npzfile import LONG, SHORT, synthetic
for steps in (SHORT, LONG):
    print(hashlib.sha256(replay.to_npz(synthetic(steps))).hexdigest())
"""


def test_the_same_bytes_in_fresh_processes_with_or_without_threads() -> None:
    npzfile.shutdown_pool()  # this process: the first archive starts no threads or some
    here = [hashlib.sha256(replay.to_npz(synthetic(n))).hexdigest() for n in (SHORT, LONG)]
    again = [hashlib.sha256(replay.to_npz(synthetic(n))).hexdigest() for n in (SHORT, LONG)]
    assert again == here
    for hash_seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", _DIGESTS],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert out.stdout.split() == here


def _compression_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("qers-npz")]


def test_short_replays_start_no_compression_threads() -> None:
    npzfile.shutdown_pool()
    replay.to_npz(synthetic(SHORT))
    assert _compression_threads() == []
    replay.to_npz(synthetic(LONG))
    assert _compression_threads() != []
    npzfile.shutdown_pool()
    assert _compression_threads() == []
