"""Seal secrets (webhook signing secrets) for storage in run folders, never in clear.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key derived from
`settings.secret_key`, or, when that is unset, a random key kept in
`<runs_dir>/.qers/secret.key` (mode 0600), created on first use.
"""

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from handlers.kit.atomic import fsync_dir
from handlers.settings import Settings

KEY_FILE = Path(".qers") / "secret.key"
_HKDF_INFO = b"qers sealing key v1"


class SealingError(Exception):
    """A sealed secret cannot be opened, or the key file is unusable."""


class SecretBox:
    """Seals and opens short secrets with one symmetric key."""

    __slots__ = ("_fernet",)

    def __init__(self, key: bytes) -> None:
        """`key` is a Fernet key (url-safe base64 of 32 bytes)."""
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "SecretBox(...)"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretBox":
        """The box for `settings.secret_key`, or for the key file in `settings.runs_dir`."""
        if settings.secret_key is not None:
            return cls(derive_key(settings.secret_key.get_secret_value()))
        return cls(load_or_create_key(settings.runs_dir / KEY_FILE))

    def seal(self, secret: str) -> str:
        """`secret` encrypted and authenticated, as ASCII text."""
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret inside `sealed`.

        Raises:
            SealingError: `sealed` was not sealed with this key, or was altered.
        """
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SealingError(
                "A stored secret cannot be opened: it was sealed with another key "
                "(QERS_SECRET_KEY or <runs_dir>/.qers/secret.key changed) or was altered."
            ) from exc


def derive_key(passphrase: str) -> bytes:
    """A Fernet key derived from an operator-supplied secret (HKDF-SHA256)."""
    if not passphrase:
        raise SealingError("QERS_SECRET_KEY is empty; set a long random value or unset it.")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(passphrase.encode()))


def load_or_create_key(path: Path) -> bytes:
    """The Fernet key stored at `path`, created (mode 0600) if the file does not exist.

    The key is written to a private temporary file and published with `os.link`, which
    fails if `path` exists: a reader never sees a half-written key, and of two processes
    creating it at once, one wins and the other reads the winner's key.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}-{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, Fernet.generate_key() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
        fsync_dir(path.parent)
    except FileExistsError:
        pass  # another process published its key first: use that one
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError as exc:
        raise SealingError(
            f"The key file {path} is not a valid key; restore it from a backup "
            "(sealed secrets need the same key) or delete it to start with a new one."
        ) from exc
    return key
