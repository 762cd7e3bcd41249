"""Segmentations and linkages on disk: `RUNS_DIR/design/<kind>/<id>/` holds the document
(`document.json`) and the files it names (part meshes; the URDF and its meshes).

Like assets, each is immutable and appears in one `rename` of a folder completed in
`RUNS_DIR/design/.staging/`: a reader sees all of it or nothing, and a request that fails
leaves only staging, which the next start removes.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from handlers.errors import NotFoundError
from handlers.kit.atomic import fsync_dir, write_file_durably
from handlers.kit.ids import id_pattern, matches, new_id
from handlers.kit.staging import remove_stale

DESIGN_FOLDER = "design"
STAGING_FOLDER = ".staging"
DOCUMENT_FILE = "document.json"
Document = dict[str, Any]  # a Segmentation or LinkageResult (contracts/schemas) as JSON


class DesignStore:
    """The documents of one kind (`segmentation` or `linkage`) in one RUNS_DIR."""

    def __init__(self, runs_dir: Path, *, kind: str, prefix: str) -> None:
        self.kind = kind
        self.prefix = prefix
        self._root = runs_dir / DESIGN_FOLDER
        self.root = self._root / f"{kind}s"
        self._pattern = id_pattern(prefix)
        self._cache: dict[str, Document] = {}
        self._lock = threading.Lock()

    def new_id(self) -> str:
        """A fresh id of this kind."""
        return new_id(self.prefix)

    def clear_staging(self, *, older_than_s: float) -> None:
        """Remove staging folders untouched for longer than any request may run."""
        remove_stale(self._root / STAGING_FOLDER, older_than_s=older_than_s)

    def stage(self, identifier: str) -> Path:
        """A new, empty staging folder for `identifier`."""
        folder = self._root / STAGING_FOLDER / identifier
        folder.mkdir(parents=True)
        return folder

    def discard(self, staging: Path) -> None:
        """Forget a staging folder (nothing if it was published)."""
        shutil.rmtree(staging, ignore_errors=True)

    def publish(self, staging: Path, document: Document) -> None:
        """Make `staging` (holding the files `document` names) visible under its id."""
        data = json.dumps(document, indent=2, ensure_ascii=False).encode()
        write_file_durably(staging / DOCUMENT_FILE, data)
        self.root.mkdir(parents=True, exist_ok=True)
        os.rename(staging, self.folder(document["id"]))
        fsync_dir(self.root)
        with self._lock:
            self._cache[document["id"]] = document

    def folder(self, identifier: str) -> Path:
        """Where the document and its files live (it may not exist)."""
        if not matches(self._pattern, identifier):
            raise NotFoundError.resource(self.kind, identifier)
        return self.root / identifier

    def get(self, identifier: str) -> Document:
        """The document; NotFoundError if there is none."""
        with self._lock:
            cached = self._cache.get(identifier)
        if cached is not None:
            return cached
        path = self.folder(identifier) / DOCUMENT_FILE
        try:
            document: Document = json.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError.resource(self.kind, identifier) from None
        with self._lock:
            self._cache[identifier] = document
        return document
