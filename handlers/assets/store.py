"""Imported assets on disk: `RUNS_DIR/assets/<id>/` holds `asset.json` and `files/`.

An asset is immutable. It becomes visible in one `rename` of a folder completed in
`RUNS_DIR/assets/.staging/`, so a reader sees a whole asset or none, and an import that is
refused or interrupted leaves nothing but staging, which the next start removes. The API,
the CLI and queued workers share the folder (workers read the canonical files of the assets
their runs simulate).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.errors import NotFoundError
from handlers.kit.atomic import fsync_dir, write_file_durably
from handlers.kit.ids import id_pattern, matches, new_id
from handlers.kit.staging import remove_stale

ASSETS_FOLDER = "assets"
STAGING_FOLDER = ".staging"
ASSET_FILE = "asset.json"
FILES_FOLDER = "files"
ASSET_ID_PREFIX = "ast_"
ASSET_ID = id_pattern(ASSET_ID_PREFIX)
AssetDocument = dict[str, Any]  # an Asset (contracts/schemas/Asset.schema.json) as JSON


@dataclass(frozen=True)
class ResolvedAsset:
    """What a run needs of an asset: its canonical URDF, the folder holding it, its hash."""

    asset_id: str
    urdf: Path
    root: Path
    sha256: str


def new_asset_id() -> str:
    """A fresh asset id: `ast_` and 24 random hex digits."""
    return new_id(ASSET_ID_PREFIX)


@dataclass(frozen=True)
class Staging:
    """One import's private folder: `upload` (the received bytes) and `work` (the child's
    output), and `final`, the asset folder being put together."""

    root: Path

    @property
    def upload(self) -> Path:
        return self.root / "upload.bin"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def final(self) -> Path:
        return self.root / "final"


class AssetStore:
    """The asset folders of one RUNS_DIR; documents are cached (they never change)."""

    def __init__(self, runs_dir: Path) -> None:
        self.root = runs_dir / ASSETS_FOLDER
        self._cache: dict[str, AssetDocument] = {}
        self._lock = threading.Lock()

    def clear_staging(self, *, older_than_s: float) -> list[str]:
        """Remove what interrupted imports left: staging folders untouched for longer than
        `older_than_s` (longer than any import may run, so that another process sharing
        RUNS_DIR keeps its imports in progress). The ids of the folders removed."""
        return remove_stale(self.root / STAGING_FOLDER, older_than_s=older_than_s)

    def stage(self, asset_id: str) -> Staging:
        """A new, empty staging folder for `asset_id`."""
        staging = Staging(self.root / STAGING_FOLDER / asset_id)
        staging.work.mkdir(parents=True)
        return staging

    def discard(self, staging: Staging) -> None:
        """Forget an import: its staging folder goes."""
        shutil.rmtree(staging.root, ignore_errors=True)

    def publish(self, staging: Staging, document: AssetDocument) -> None:
        """Make the asset visible: `work` becomes its files, next to its document."""
        staging.final.mkdir()
        staging.work.rename(staging.final / FILES_FOLDER)
        data = json.dumps(document, indent=2, ensure_ascii=False).encode()
        write_file_durably(staging.final / ASSET_FILE, data)
        os.rename(staging.final, self.folder(document["id"]))
        fsync_dir(self.root)
        self.discard(staging)
        with self._lock:
            self._cache[document["id"]] = document

    def folder(self, asset_id: str) -> Path:
        """Where the asset lives (it may not exist)."""
        if not matches(ASSET_ID, asset_id):
            raise NotFoundError.resource("asset", asset_id)
        return self.root / asset_id

    def files_folder(self, asset_id: str) -> Path:
        """The asset's canonical files."""
        return self.folder(asset_id) / FILES_FOLDER

    def get(self, asset_id: str) -> AssetDocument:
        """The asset's document; NotFoundError if there is none."""
        with self._lock:
            cached = self._cache.get(asset_id)
        if cached is not None:
            return cached
        path = self.folder(asset_id) / ASSET_FILE
        try:
            document = json.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError.resource("asset", asset_id) from None
        document.setdefault("derived_from", None)  # stored before assets could be derived
        with self._lock:
            self._cache[asset_id] = document
        return document  # type: ignore[no-any-return]

    def all(self) -> list[AssetDocument]:
        """Every asset, newest first (created_at, then id, both descending)."""
        documents = [self.get(asset_id) for asset_id in self._ids()]
        return sorted(documents, key=lambda d: (d["created_at"], d["id"]), reverse=True)

    def count_in_project(self, project_id: str) -> int:
        """How many assets belong to `project_id`."""
        return sum(1 for document in self.all() if document["project_id"] == project_id)

    def _ids(self) -> Iterator[str]:
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if matches(ASSET_ID, entry.name) and os.path.isfile(
                os.path.join(entry.path, ASSET_FILE)
            ):
                yield entry.name
