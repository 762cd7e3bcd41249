"""The run store: run folders (the truth) plus a SQLite index for listing.

    store = RunStore(settings.runs_dir)
    store.create(run, {"metrics.json": b"..."})
    store.update(run["id"], {**run, "status": "RUNNING"})
    items, next_cursor = store.list(status="SUCCEEDED", limit=50)

Staleness rule: the index records, per run, the signature (inode, mtime_ns, size) of the
run.json it was built from; every atomic replace makes a new inode, so a folder added,
removed or rewritten behind the index's back shows as a differing signature. `sync()`
compares one `stat` per folder and re-reads only what differs; it runs at open, after the
sweep of interrupted writes. Writers in other processes (workers sharing RUNS_DIR) use
`RunFolders(announce=True)`, and `sync_changes()` indexes just the runs they announced.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog

from handlers.errors import FieldError, InternalError, NotFoundError, ValidationFailed
from handlers.kit.atomic import FileSignature, fsync_dir, fsync_tree
from handlers.runs.cursor import RunFilters, decode_cursor, encode_cursor
from handlers.runs.folders import RUN_FILE, RunFolders, encode_run
from handlers.runs.index import IndexEntry, RunDocument, RunDocumentError, RunIndex

INDEX_FILE = ".index.sqlite3"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
# Leftover `.tmp-*` entries younger than this may belong to a writer still at work.
STALE_TEMPORARY_S = 30.0

_log = structlog.get_logger("qers.runstore")


@dataclass(frozen=True)
class SyncReport:
    """What one `sync()` changed in the index."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0  # folders whose run.json is unreadable or not a run


class RunStore:
    """Runs under `runs_dir`, indexed in SQLite at `index_path` (default: inside it).

    In distributed mode give `index_path` on a local disk: SQLite must not live on a
    network filesystem, and only this process writes it.
    """

    def __init__(
        self,
        runs_dir: Path | str,
        *,
        index_path: Path | str | None = None,
        stale_temporary_s: float = STALE_TEMPORARY_S,
    ) -> None:
        self.folders = RunFolders(Path(runs_dir))
        self.runs_dir = self.folders.runs_dir
        self.swept = self.folders.sweep_temporaries(older_than_s=stale_temporary_s)
        self._index = RunIndex.open(Path(index_path or self.runs_dir / INDEX_FILE))
        self.opened_with = self.sync()

    def close(self) -> None:
        """Close the index."""
        self._index.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def create(
        self,
        run: Mapping[str, Any],
        files: Mapping[str, bytes] | None = None,
        *,
        durable: bool = True,
    ) -> None:
        """Store a new run with its artifacts, all or nothing (`durable`: RunFolders.create).

        Raises:
            RunDocumentError: `run` lacks a field the index needs.
            FileExistsError: a run with this id exists.
        """
        files = dict(files or {})
        if RUN_FILE in files:
            raise ValueError("run.json is written from `run`, not passed as a file")
        entry = IndexEntry.from_document(run, signature="")
        data = {**files, RUN_FILE: encode_run(run)}
        signature = self.folders.create(entry.run_id, data, durable=durable)
        self._index.apply(upsert=[_signed(entry, signature.encode())])

    def update(self, run_id: str, run: Mapping[str, Any]) -> None:
        """Replace the Run document of an existing run (e.g. a status transition)."""
        self.folders.folder(run_id)
        self._write_run(run_id, run, lambda data: self.folders.write_run(run_id, data))

    def discard(self, run_id: str) -> None:
        """Remove a run entirely (its creation could not be completed, e.g. Redis refused it)."""
        self.folders.discard(run_id)
        self._index.apply(remove=[run_id])

    def put_file(self, run_id: str, name: str, data: bytes) -> None:
        """Write an artifact (e.g. metrics.json, replay.npz) of an existing run."""
        self.folders.put_file(run_id, name, data)

    def put_files_and_update(
        self,
        run_id: str,
        files: Mapping[str, bytes],
        run: Mapping[str, Any],
        *,
        durable: bool = True,
    ) -> None:
        """Write several artifacts, then replace the Run document, their fsyncs side by side
        (see RunFolders.put_files_then_run): a run's final state and its artifacts at once."""
        self._write_run(
            run_id,
            run,
            lambda data: self.folders.put_files_then_run(run_id, files, data, durable=durable),
        )

    def settle(self, run_id: str, created: Iterable[str]) -> None:
        """Make a run created with `durable=False` (with the files `created`) durable as
        created: see RunFolders.settle."""
        self.folders.settle(run_id, created)

    def make_durable(self, run_ids: Iterable[str]) -> None:
        """fsync everything of these runs (written with `durable=False`) and the runs folder:
        one group commit for a batch's children."""
        fsync_tree([self.folders.folder(run_id) for run_id in run_ids])
        fsync_dir(self.folders.runs_dir)

    def _write_run(
        self,
        run_id: str,
        run: Mapping[str, Any],
        write: Callable[[bytes], FileSignature],
    ) -> None:
        """Write the Run document with `write` and index it under the signature written."""
        if run.get("id") != run_id:
            raise RunDocumentError("the document's id differs from run_id")
        entry = IndexEntry.from_document(run, signature="")
        signature = write(encode_run(run))
        self._index.apply(upsert=[_signed(entry, signature.encode())])

    def get(self, run_id: str) -> RunDocument:
        """The Run document, read from its folder (never from the index)."""
        run, _ = self.folders.read_run(run_id)
        return run

    def read_file(self, run_id: str, name: str) -> bytes:
        """An artifact of the run; NotFoundError if the run or the file does not exist."""
        return self.folders.read_file(run_id, name)

    def list(
        self,
        *,
        status: str | None = None,
        scenario: str | None = None,
        tag: str | None = None,
        profile: str | None = None,
        batch_id: str | None = None,
        project_id: str | None = None,
        origin: str | None = None,
        projects: tuple[str, ...] | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> tuple[list[RunDocument], str | None]:
        """One page of runs matching every given filter, newest first.

        Returns:
            The runs and the cursor of the next page (None on the last page).

        Raises:
            ValidationFailed: `limit` is out of 1..1000 or `cursor` is not valid here.
        """
        if not 1 <= limit <= MAX_LIMIT:
            reason = f"must be between 1 and {MAX_LIMIT}"
            error = FieldError(location="query", pointer="/limit", reason=reason)
            raise ValidationFailed.for_fields([error])
        filters = RunFilters(
            status=status,
            scenario=scenario,
            tag=tag,
            profile=profile,
            batch_id=batch_id,
            project_id=project_id,
            origin=origin,
            projects=projects,
        )
        after = decode_cursor(cursor, filters) if cursor is not None else None
        rows = self._index.page(filters, after=after, limit=limit + 1)
        items = [json.loads(document) for _, document in rows[:limit]]
        more = len(rows) > limit
        return items, encode_cursor(rows[limit - 1][0], filters) if more else None

    def count(self, filters: RunFilters) -> int:
        """How many indexed runs match `filters`."""
        return self._index.count(filters)

    def sync(self) -> SyncReport:
        """Bring the index in line with the folders; only differing runs are re-read."""
        self.folders.take_changes()  # the full scan below covers whatever they announced
        return self._sync(replace_all=False)

    def sync_changes(self) -> SyncReport:
        """Index the runs other processes announced (`RunFolders(announce=True)`).

        Cheap enough to call before every listing: one small folder read when nothing
        changed. Writers that do not announce are only seen by `sync()`.
        """
        changed = self.folders.take_changes()
        if not changed:
            return SyncReport()
        indexed = self._index.signatures()
        on_disk = self.folders.signatures_of(changed)
        return self._apply(indexed, on_disk, candidates=changed, replace_all=False)

    def rebuild_index(self) -> SyncReport:
        """Rebuild the whole index from the folders (swapped in one transaction)."""
        report = self._sync(replace_all=True)
        # A write that landed while the folders were read was overwritten by the older
        # copy; its run.json signature differs from the one indexed, so a sync restores it.
        self._sync(replace_all=False)
        return report

    def indexed_statuses(self) -> dict[str, str]:
        """Every indexed run id with its indexed status (for consistency checks)."""
        return self._index.status_of()

    def _sync(self, *, replace_all: bool) -> SyncReport:
        indexed = {} if replace_all else self._index.signatures()
        on_disk = self.folders.scan()
        candidates = indexed.keys() | on_disk.keys()
        return self._apply(indexed, on_disk, candidates=candidates, replace_all=replace_all)

    def _apply(
        self,
        indexed: Mapping[str, str],
        on_disk: Mapping[str, FileSignature],
        *,
        candidates: Iterable[str],
        replace_all: bool,
    ) -> SyncReport:
        checked = sorted(set(candidates))
        stale = [i for i in checked if i in on_disk and indexed.get(i) != on_disk[i].encode()]
        entries = [entry for i in stale if (entry := self._entry_from_folder(i)) is not None]
        unreadable = set(stale) - {entry.run_id for entry in entries}
        gone = {i for i in checked if i in indexed and (i not in on_disk or i in unreadable)}
        if entries or gone or replace_all:
            self._index.apply(
                upsert=entries,
                remove=sorted(gone),
                replace_all=replace_all,
                # Concurrent create/update in this process index their own write after
                # making it; a sync that read the folder earlier must not undo that.
                expected=None if replace_all else {i: indexed.get(i) for i in checked},
            )
        added = sum(1 for entry in entries if entry.run_id not in indexed)
        report = SyncReport(added, len(entries) - added, len(gone), len(unreadable))
        if report != SyncReport():
            _log.info("run index synchronised", **vars(report))
        return report

    def _entry_from_folder(self, run_id: str) -> IndexEntry | None:
        try:
            run, signature = self.folders.read_run(run_id)
            return IndexEntry.from_document(run, signature=signature.encode())
        except NotFoundError:
            return None  # removed since the scan
        except (InternalError, RunDocumentError) as exc:
            # One bad folder must not stop the index; get() still reports it.
            _log.warning("run folder not indexed", run_id=run_id, error=str(exc))
            return None


def _signed(entry: IndexEntry, signature: str) -> IndexEntry:
    return IndexEntry(
        entry.run_id, entry.position, entry.columns, entry.tags, signature, entry.document
    )
