"""`qers assets import`, `qers assets list`: robot assets from the command line.

`qers assets import` goes through the same `AssetService` as `POST /api/assets/import`: the
file is staged under the same limits, imported in an isolated child and stored in RUNS_DIR,
where the API lists and serves it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from generated.models import AssetFormat, AssetImportForm
from handlers.assets.listing import MAX_LIMIT, AssetFilters
from handlers.assets.service import AssetFields, AssetService
from handlers.assets.store import AssetDocument
from handlers.errors import QersError
from handlers.kit.logging import configure_logging
from handlers.projects.service import OpenProjects
from handlers.projects.store import ProjectStore
from handlers.settings import Settings

EXIT_REFUSED = 1
EXIT_USAGE = 2
DEFAULT_LIMIT = 50
ASSET_ID_EXAMPLE = "ast_" + "0" * 24

app = typer.Typer(
    help="Robot assets: import URDF, USD or mesh files; list them (stored in RUNS_DIR).",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ProjectOption = Annotated[str | None, typer.Option("--project", help="Project id (prj_...).")]
FormatOption = Annotated[AssetFormat | None, typer.Option("--format", help="Source format.")]


class ImportBar:
    """The progress callback of one import: bytes staged, then the child's stages.

    `AssetService.import_upload` reports the copy first, ending with done == total, then
    the stages; the first call that completes the copy switches the bar to the stages.
    """

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._copy = progress.add_task(f"staging {label}", total=None, amount="")
        self._stages: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._stages is not None:
            amount = f"stage {done}/{total}"
            self._progress.update(self._stages, completed=done, total=total, amount=amount)
            return
        amount = f"{decimal(done)}/{decimal(total)}"
        self._progress.update(self._copy, completed=done, total=total, amount=amount)
        if done >= total:
            self._stages = self._progress.add_task("importing", total=None, amount="")


@app.command("import")
def import_asset(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A .urdf, a USD stage, a mesh, or a .zip of a URDF or stage with its files.",
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Asset name; default: the file's stem.")
    ] = None,
    project: ProjectOption = None,
    format: FormatOption = None,
    main_file: Annotated[
        str | None,
        typer.Option("--main-file", help="The URDF or USD stage inside a zip holding several."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Label for filtering; repeatable.")
    ] = None,
    density: Annotated[
        float,
        typer.Option("--density", help="kg/m³ for masses computed from meshes."),
    ] = 1000.0,
    as_json: JsonOption = False,
) -> None:
    """Import a robot file or zip package into RUNS_DIR.

    The same checks and limits as POST /api/assets/import; the API lists the asset.

    stdout: a summary table, then the asset id alone on the last line:
    ID=$(qers assets import robot.urdf | tail -n 1). Warnings and progress go to stderr.

    With --json, stdout is the Asset document and nothing else.

    Exit 0: imported. 1: refused (the problem on stderr; nothing stored). 2: usage error.
    """
    fields = _fields(
        name=name if name is not None else file.stem or file.name,
        project=project,
        format=format,
        main_file=main_file,
        tags=tag or [],
        density=density,
    )
    service = _service()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
    amount = TextColumn("{task.fields[amount]}")
    live = err.is_terminal  # elsewhere (a pipe, a log file) a bar is only noise
    with Progress(*columns, amount, console=err, transient=True, disable=not live) as progress:
        bar = ImportBar(progress, file.name)
        try:
            with open(file, "rb") as upload:
                document = asyncio.run(
                    service.import_upload(fields, upload, filename=file.name, on_progress=bar)
                )
        except QersError as exc:
            progress.stop()
            _refused(exc)
        except OSError as exc:
            progress.stop()
            _usage(f"cannot read {file}: {exc.strerror or exc}")
    if as_json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    out.print(_summary(document))
    for warning in document["warnings"]:
        err.print(Text(f"warning: {warning}"))
    typer.echo(document["id"])


@app.command("list")
def list_assets(
    project: ProjectOption = None,
    format: FormatOption = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only assets with this tag.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="At most this many.")
    ] = DEFAULT_LIMIT,
    as_json: JsonOption = False,
) -> None:
    """List the assets in RUNS_DIR, newest first.

    With --json, stdout is an AssetList document, as GET /api/assets answers.
    """
    filters = AssetFilters(project_id=project, format=format.value if format else None, tag=tag)
    try:
        items, next_cursor = _service().list(filters, limit=limit, cursor=None)
    except QersError as exc:
        _refused(exc)
    if as_json:
        typer.echo(json.dumps({"items": items, "next_cursor": next_cursor}, ensure_ascii=False))
        return
    out.print(_listing(items))
    if next_cursor is not None:
        err.print(f"more assets match: raise --limit (at most {MAX_LIMIT})")


def _fields(
    *,
    name: str,
    project: str | None,
    format: AssetFormat | None,
    main_file: str | None,
    tags: list[str],
    density: float,
) -> AssetFields:
    """The options as the API's form fields, checked by the same model (exit 2 if not)."""
    # The form's `file` carries the bytes over HTTP; here FILE does, so it stays empty.
    form: dict[str, Any] = {"file": "", "name": name, "tags": tags, "density_kg_m3": density}
    optional = {"project_id": project, "format": format, "main_file": main_file}
    form.update({key: value for key, value in optional.items() if value is not None})
    try:
        checked = AssetImportForm.model_validate(form)
    except ValidationError as exc:
        err.print(f"error: {exc.error_count()} invalid option(s)")
        for error in exc.errors():
            where = "/" + "/".join(str(part) for part in error["loc"])
            err.print(Text(f"  {where}: {error['msg']}"))
        raise typer.Exit(EXIT_USAGE) from None
    return AssetFields.from_form(checked.model_dump(mode="json"))


def _service() -> AssetService:
    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        _usage(f"invalid environment settings: {exc}")
    configure_logging("WARNING")  # JSON lines on stderr; stdout stays the result
    projects = OpenProjects(ProjectStore(settings.runs_dir))
    # A server may be importing into the same RUNS_DIR: its staging folders stay.
    return AssetService(settings, check_project=projects.require_open, clear_staging=False)


def _summary(document: AssetDocument) -> Table:
    stats = document["stats"]
    table = Table(title=Text(f"Imported {document['name']}"), show_header=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value")
    container = " (zip)" if document["container"] == "zip" else ""
    rows = {
        "id": document["id"],
        "format": f"{document['format']}{container}",
        "links": str(stats["links"]),
        "dof": str(stats["dof"]),
        "mass kg": f"{stats['total_mass_kg']:.4g}",
        "triangles": str(stats["triangles"]),
        "warnings": str(len(document["warnings"])),
        "check": _check(document["check"]),
    }
    for field, value in rows.items():
        table.add_row(field, Text(value))
    return table


def _check(check: dict[str, Any]) -> str:
    if not check["loaded"]:
        return "failed: PyBullet did not load it"
    if not check["finite"]:
        return "failed: its state stopped being finite"
    return f"ok ({check['steps']} steps, base drift {check['base_drift_m']:.3g} m)"


def _listing(items: list[AssetDocument]) -> Table:
    # 80 columns hold every column but a long name, which wraps: ids are never cut.
    table = Table(
        title=f"Assets ({len(items)}, newest first)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("id", no_wrap=True, min_width=len(ASSET_ID_EXAMPLE))
    table.add_column("name", min_width=10, overflow="fold")
    table.add_column("format", no_wrap=True, min_width=6)
    table.add_column("dof", justify="right", no_wrap=True, min_width=3)
    table.add_column("mass kg", justify="right", no_wrap=True, min_width=7)
    table.add_column("created", no_wrap=True, min_width=16)
    for item in items:
        table.add_row(
            item["id"],
            Text(item["name"]),
            item["format"],
            str(item["stats"]["dof"]),
            f"{item['stats']['total_mass_kg']:.4g}",
            item["created_at"][:16].replace("T", " "),
        )
    return table


def _refused(exc: QersError) -> NoReturn:
    err.print(Text(f"error: {exc.detail}"))
    for error in exc.errors:
        err.print(Text(f"  {error.get('pointer') or '/'}: {error.get('reason')}"))
    raise typer.Exit(EXIT_REFUSED)


def _usage(message: str) -> NoReturn:
    err.print(Text(f"error: {message}"))
    raise typer.Exit(EXIT_USAGE)
