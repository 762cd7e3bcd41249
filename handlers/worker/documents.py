"""Run documents as a worker writes them: straight to the run folders, announced to the API.

The API indexes announced runs (`RUNS_DIR/.changes/`) at its next listing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.runs.folders import RunFolders, encode_run
from handlers.settings import Settings


class FolderWriter:
    """Run documents written straight to the run folders, announced to the API's index."""

    def __init__(self, settings: Settings) -> None:
        self.folders = RunFolders(settings.runs_dir, announce=True)

    def get(self, run_id: str) -> dict[str, Any]:
        run, _ = self.folders.read_run(run_id)
        return dict(run)

    def update(self, run_id: str, run: Mapping[str, Any]) -> None:
        self.folders.write_run(run_id, encode_run(run))

    def put_file(self, run_id: str, name: str, data: bytes) -> None:
        self.folders.put_file(run_id, name, data)

    def put_files_and_update(
        self,
        run_id: str,
        files: Mapping[str, bytes],
        run: Mapping[str, Any],
        *,
        durable: bool = True,
    ) -> None:
        self.folders.put_files_then_run(run_id, files, encode_run(run), durable=durable)

    def read_file(self, run_id: str, name: str) -> bytes:
        return self.folders.read_file(run_id, name)
