"""JSON documents kept as files in a hidden folder of RUNS_DIR (batches, benchmark reports).

Each document is one `<id>.json` file written atomically (handlers.kit.atomic); ids are random
and checked against a strict pattern before they become file names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from handlers.errors import NotFoundError
from handlers.kit.atomic import TMP_PREFIX, write_atomic
from handlers.kit.ids import id_pattern, matches, new_id


class DocumentFolder:
    """The `<id>.json` documents of one kind (e.g. "batch") in `root/<folder>`."""

    def __init__(self, root: Path, *, folder: str, kind: str, prefix: str) -> None:
        self.path = root / folder
        self.kind = kind
        self.prefix = prefix
        self._pattern = id_pattern(prefix)

    def new_id(self) -> str:
        """A fresh id for a document of this kind."""
        return new_id(self.prefix)

    def valid(self, doc_id: str) -> bool:
        """Whether `doc_id` matches the kind's id pattern (so it is a safe file name)."""
        return matches(self._pattern, doc_id)

    def put(self, doc_id: str, document: Mapping[str, Any]) -> None:
        """Write (or replace) one document atomically."""
        if not self.valid(doc_id):
            raise ValueError(f"not a {self.kind} id: {doc_id!r}")
        self.path.mkdir(parents=True, exist_ok=True)
        data = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
        write_atomic(self.path / f"{doc_id}.json", data)

    def get(self, doc_id: str) -> dict[str, Any]:
        """One document; NotFoundError when there is none with this id."""
        if not self.valid(doc_id):
            raise NotFoundError.resource(self.kind, doc_id)
        try:
            data = (self.path / f"{doc_id}.json").read_bytes()
        except FileNotFoundError:
            raise NotFoundError.resource(self.kind, doc_id) from None
        document: dict[str, Any] = json.loads(data)
        return document

    def delete(self, doc_id: str) -> None:
        """Remove one document (nothing if absent)."""
        if self.valid(doc_id):
            (self.path / f"{doc_id}.json").unlink(missing_ok=True)

    def all(self) -> Iterator[dict[str, Any]]:
        """Every document, in no particular order."""
        if not self.path.is_dir():
            return
        for entry in sorted(self.path.iterdir()):
            name = entry.name
            if name.startswith(TMP_PREFIX) or not name.endswith(".json"):
                continue
            if self.valid(name.removesuffix(".json")):
                try:
                    data = entry.read_bytes()
                except FileNotFoundError:  # deleted since the folder was listed
                    continue
                yield json.loads(data)
