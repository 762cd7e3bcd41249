"""Sealing stored secrets: round trips, key from settings or from a private key file."""

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from handlers.settings import Settings
from handlers.webhooks.sealing import KEY_FILE, SealingError, SecretBox, load_or_create_key

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAbCdEfGh"  # noqa: S105 (test value)


def test_round_trip_with_key_file(tmp_path: Path) -> None:
    box = SecretBox.from_settings(Settings(runs_dir=tmp_path))
    sealed = box.seal(SECRET)
    assert SECRET not in sealed
    assert SECRET[len("whsec_") :] not in sealed
    assert box.open(sealed) == SECRET
    assert sealed != box.seal(SECRET)  # a fresh nonce each time


def test_key_file_is_private(tmp_path: Path) -> None:
    SecretBox.from_settings(Settings(runs_dir=tmp_path))
    mode = stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert [path.name for path in (tmp_path / KEY_FILE).parent.iterdir()] == ["secret.key"]


def test_boxes_on_the_same_runs_dir_share_a_key(tmp_path: Path) -> None:
    sealed = SecretBox.from_settings(Settings(runs_dir=tmp_path)).seal(SECRET)
    assert SecretBox.from_settings(Settings(runs_dir=tmp_path)).open(sealed) == SECRET


def test_concurrent_creators_end_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: load_or_create_key(path), range(32)))
    assert keys == {path.read_bytes().strip()}
    assert [entry.name for entry in path.parent.iterdir()] == ["secret.key"]


def test_round_trip_with_secret_key(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, secret_key=SecretStr("operator-supplied passphrase"))
    sealed = SecretBox.from_settings(settings).seal(SECRET)
    assert SecretBox.from_settings(settings).open(sealed) == SECRET
    assert not (tmp_path / KEY_FILE).exists()


def test_other_key_cannot_open(tmp_path: Path) -> None:
    sealed = SecretBox.from_settings(Settings(runs_dir=tmp_path)).seal(SECRET)
    other = SecretBox.from_settings(Settings(runs_dir=tmp_path, secret_key=SecretStr("other")))
    with pytest.raises(SealingError, match="sealed with another key"):
        other.open(sealed)
    with pytest.raises(SealingError):
        other.open("not a token")


def test_broken_key_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    path.parent.mkdir(parents=True)
    path.write_text("garbage\n")
    with pytest.raises(SealingError, match=r"secret\.key is not a valid key"):
        SecretBox.from_settings(Settings(runs_dir=tmp_path))


def test_repr_shows_no_key(tmp_path: Path) -> None:
    box = SecretBox.from_settings(Settings(runs_dir=tmp_path))
    key = (tmp_path / KEY_FILE).read_text().strip()
    assert key not in repr(box)
