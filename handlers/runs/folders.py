"""Run folders under RUNS_DIR, the source of truth: one folder per run, files replaced atomically.

Layout: `RUNS_DIR/<run_id>/run.json` (the Run document) plus artifacts such as
`metrics.json`, `replay.npz`, `replay.json` (the replay manifest) and `report.json`.
A run is built under `.tmp-<run_id>-<random>` and renamed into place, so a reader never
sees a half-built run. This module touches no index: workers on other hosts that share
RUNS_DIR write runs through it, and the API host's `RunStore` indexes what they wrote.
"""

import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import structlog

from handlers.errors import InternalError, NotFoundError
from handlers.kit.atomic import (
    TMP_PREFIX,
    FileSignature,
    fsync_dir,
    fsync_paths,
    temp_name,
    write_atomic,
    write_atomic_many_then,
    write_file,
)
from handlers.runs.ids import is_valid_run_id
from handlers.runs.index import RunDocument

RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
REPLAY_FILE = "replay.npz"
REPLAY_MANIFEST_FILE = "replay.json"
REPORT_FILE = "report.json"
CHANGES_DIR = ".changes"
# Artifact names: plain lowercase names with a known extension, so never a path, a
# hidden or temporary name, nor run.json (written only through `write_run`).
ARTIFACT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}\.(json|npz)$")

_log = structlog.get_logger("qers.runstore")


def encode_run(run: Mapping[str, Any]) -> bytes:
    """run.json's bytes for `run`."""
    return json.dumps(run, ensure_ascii=False, indent=1).encode()


class RunFolders:
    """Reads and writes run folders; every path built from an id is checked first.

    With `announce`, each new or rewritten run.json also leaves a marker
    `RUNS_DIR/.changes/<run_id>`, so the process owning the index (`RunStore.sync_changes`)
    finds what other processes wrote without scanning every folder.
    """

    def __init__(self, runs_dir: Path, *, announce: bool = False) -> None:
        self.runs_dir = runs_dir
        self.changes_dir = runs_dir / CHANGES_DIR
        self._announce = announce
        runs_dir.mkdir(parents=True, exist_ok=True)

    def folder(self, run_id: str) -> Path:
        """The folder of `run_id`; raises NotFoundError for an id that is not well formed."""
        if not is_valid_run_id(run_id):
            raise NotFoundError.resource("run", str(run_id)[:80])
        return self.runs_dir / run_id

    def create(
        self, run_id: str, files: Mapping[str, bytes], *, durable: bool = True
    ) -> FileSignature:
        """Build the folder of a new run (files must include run.json) and move it into place.

        `durable=False` skips the fsyncs (a batch child's RUNNING record: its final state is
        written durably when it ends; a crash before leaves it RUNNING for the recovery, or,
        after a power cut, maybe absent or unreadable, which the index skips).

        Returns:
            The signature of the run.json written.
        """
        final = self.folder(run_id)
        if final.exists():
            raise FileExistsError(f"run folder {run_id} already exists")
        staging = self.runs_dir / temp_name(run_id)
        os.mkdir(staging)
        try:
            for name, data in files.items():
                if name != RUN_FILE:
                    write_file(staging / _artifact_name(name), data, durable=durable)
            signature = write_file(staging / RUN_FILE, files[RUN_FILE], durable=durable)
            if durable:
                fsync_dir(staging)
            # A rename onto an existing empty folder would succeed; the check above and
            # random ids make that a bug, not a race worth a lock.
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if durable:
            fsync_dir(self.runs_dir)
        self._announce_change(run_id)
        return signature

    def settle(self, run_id: str, names: Iterable[str]) -> None:
        """Make a run created with `durable=False` durable as created: its files `names`
        and run.json, the folder, then its entry in the runs folder (another run's fsync
        of the runs folder may persist the entry first; a folder without a readable
        run.json is skipped by the index)."""
        folder = self.folder(run_id)
        fsync_paths([folder / _artifact_name(name) for name in names] + [folder / RUN_FILE])
        fsync_dir(folder)
        fsync_dir(self.runs_dir)

    def write_run(self, run_id: str, data: bytes) -> FileSignature:
        """Atomically replace run.json of an existing run."""
        signature = self._replace(run_id, RUN_FILE, data)
        self._announce_change(run_id)
        return signature

    def discard(self, run_id: str) -> None:
        """Remove a run folder whole (a run whose creation could not be completed).

        The folder is first renamed to a temporary name, so readers see it gone at once
        and an interrupted removal is swept like any other leftover.
        """
        final = self.folder(run_id)
        doomed = self.runs_dir / temp_name(run_id)
        try:
            os.rename(final, doomed)
        except FileNotFoundError:
            return
        fsync_dir(self.runs_dir)
        shutil.rmtree(doomed, ignore_errors=True)
        self._announce_change(run_id)

    def take_changes(self) -> list[str]:
        """Run ids announced since the last call; their markers are removed first.

        A marker is removed before the caller reads the run, so a write that lands
        after the read leaves a new marker for the next call.
        """
        try:
            names = os.listdir(self.changes_dir)
        except FileNotFoundError:
            return []
        taken = []
        for name in names:
            try:
                os.unlink(os.path.join(self.changes_dir, name))
            except FileNotFoundError:
                continue
            if is_valid_run_id(name):
                taken.append(name)
        return taken

    def put_file(self, run_id: str, name: str, data: bytes) -> None:
        """Atomically write the artifact `name` of an existing run."""
        self._replace(run_id, _artifact_name(name), data)

    def put_files_then_run(
        self, run_id: str, files: Mapping[str, bytes], data: bytes, *, durable: bool = True
    ) -> FileSignature:
        """Atomically write several artifacts of an existing run, then its run.json, their
        fsyncs side by side: run.json (e.g. SUCCEEDED) is never durable before the artifacts
        it lists."""
        folder = self.folder(run_id)
        if not (folder / RUN_FILE).is_file():
            raise NotFoundError.resource("run", run_id)
        named = {_artifact_name(name): payload for name, payload in files.items()}
        try:
            signature = write_atomic_many_then(folder, named, RUN_FILE, data, durable=durable)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError.resource("run", run_id) from None
        self._announce_change(run_id)
        return signature

    def read_run(self, run_id: str) -> tuple[RunDocument, FileSignature]:
        """run.json of `run_id` with the signature of the very file read."""
        path = self.folder(run_id) / RUN_FILE
        try:
            with open(path, "rb") as handle:
                signature = FileSignature.of(os.fstat(handle.fileno()))
                raw = handle.read()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError.resource("run", run_id) from None
        try:
            run = json.loads(raw)
        except ValueError:
            run = None
        if not isinstance(run, dict) or run.get("id") != run_id:
            _log.error("unreadable run.json", run_id=run_id)
            raise InternalError.unexpected()
        return _upgraded(run), signature

    def read_file(self, run_id: str, name: str) -> bytes:
        """The artifact `name` of `run_id`."""
        folder = self.folder(run_id)
        if name != RUN_FILE and not ARTIFACT_NAME.fullmatch(name):
            raise NotFoundError.resource("run artifact", f"{run_id}/{name[:80]}")
        try:
            return (folder / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFoundError.resource("run artifact", f"{run_id}/{name}") from None

    def scan(self) -> dict[str, FileSignature]:
        """Every run folder holding a regular run.json, with that file's signature."""
        return self.signatures_of(self._run_ids())

    def signatures_of(self, run_ids: Iterable[str]) -> dict[str, FileSignature]:
        """Those of `run_ids` whose folder holds a regular run.json, with its signature."""
        found: dict[str, FileSignature] = {}
        root = os.fspath(self.runs_dir)
        for run_id in run_ids:
            try:
                info = os.stat(os.path.join(root, run_id, RUN_FILE))
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISREG(info.st_mode):
                found[run_id] = FileSignature.of(info)
        return found

    def sweep_temporaries(self, *, older_than_s: float) -> int:
        """Delete `.tmp-*` leftovers of interrupted writes older than `older_than_s`.

        Looks in RUNS_DIR (half-built runs) and in every run folder (half-written files).
        Younger ones may belong to a writer still at work, perhaps on another host.

        Returns:
            How many were deleted.
        """
        deadline = time.time() - older_than_s
        removed = 0
        root = os.fspath(self.runs_dir)
        folders = [root, *(os.path.join(root, run_id) for run_id in self._run_ids())]
        for folder in folders:
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.name.startswith(TMP_PREFIX) and _remove_if_older(entry, deadline):
                    removed += 1
        return removed

    def _replace(self, run_id: str, name: str, data: bytes) -> FileSignature:
        folder = self.folder(run_id)
        if not (folder / RUN_FILE).is_file():
            raise NotFoundError.resource("run", run_id)
        try:
            return write_atomic(folder / name, data)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError.resource("run", run_id) from None

    def _announce_change(self, run_id: str) -> None:
        # No fsync: a marker lost to a power cut is made up for by the full sync at start.
        if self._announce:
            self.changes_dir.mkdir(exist_ok=True)
            (self.changes_dir / run_id).touch()

    def _run_ids(self) -> Iterator[str]:
        with os.scandir(self.runs_dir) as entries:
            for entry in entries:
                if is_valid_run_id(entry.name) and entry.is_dir(follow_symlinks=False):
                    yield entry.name


def _artifact_name(name: str) -> str:
    if name == RUN_FILE or not ARTIFACT_NAME.fullmatch(name):
        raise ValueError(f"not an artifact file name: {name[:80]!r}")
    return name


def _remove_if_older(entry: os.DirEntry[str], deadline: float) -> bool:
    try:
        info = entry.stat(follow_symlinks=False)
        if info.st_mtime > deadline:
            return False
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
    except FileNotFoundError:
        return False  # another sweeper got there first
    _log.info("removed interrupted write", name=entry.name)
    return True


def _upgraded(run: RunDocument) -> RunDocument:
    """A run.json written by an older release, with the fields added since (0.1 had no
    assets: its runs simulated none)."""
    config = run.get("config")
    if isinstance(config, dict) and "asset_id" not in config:
        config.setdefault("asset_id", None)
        config.setdefault("asset_sha256", None)
    return run
