"""`qers design segment`, `qers design linkage`: the design loop from the command line.

Both go through the same `DesignService` as `POST /api/design/segment` and
`POST /api/design/linkage`: the same checks, isolated children and limits, stored in
RUNS_DIR where the API serves them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from generated.models import LinkageRequest, SegmentMethod, SegmentRequest
from handlers.assets.service import AssetService
from handlers.design.service import DesignService
from handlers.errors import QersError
from handlers.kit.logging import configure_logging
from handlers.projects.service import OpenProjects
from handlers.projects.store import ProjectStore
from handlers.settings import Settings

EXIT_REFUSED = 1
EXIT_USAGE = 2

app = typer.Typer(
    help="Design: segment an asset into parts, build a linkage, export it as a URDF asset.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("segment")
def segment(
    asset_id: Annotated[str, typer.Argument(metavar="ASSET_ID", help="Asset to segment.")],
    method: Annotated[SegmentMethod, typer.Option("--method", help="How to split it.")],
    density: Annotated[
        float | None, typer.Option("--density", help="kg/m³ for masses from volumes.")
    ] = None,
    max_parts: Annotated[
        int | None, typer.Option("--max-parts", help="Refuse more parts than this.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="CoACD concavity threshold.")
    ] = None,
    max_hulls: Annotated[
        int | None, typer.Option("--max-hulls", help="CoACD hulls per part at most.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Decomposition time limit in s.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Segment an asset into parts with mass and inertia (like POST /api/design/segment).

    stdout: a table of the parts, then the segmentation id alone on the last line:
    SEG=$(qers design segment ast_... --method connected_components | tail -n 1).
    With --json, stdout is the Segmentation document and nothing else.

    Exit 0: segmented. 1: refused (the problem on stderr; nothing stored). 2: usage error.
    """
    decomposition = {
        key: value
        for key, value in (
            ("threshold", threshold),
            ("max_hulls", max_hulls),
            ("timeout_s", timeout),
        )
        if value is not None
    }
    body: dict[str, Any] = {"asset_id": asset_id, "method": method.value}
    if density is not None:
        body["density_kg_m3"] = density
    if max_parts is not None:
        body["max_parts"] = max_parts
    if decomposition:
        body["decomposition"] = decomposition
    request = _checked(SegmentRequest, body)
    document = _run(lambda service: service.segment(request))
    if as_json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    out.print(_parts(document))
    for warning in document["warnings"]:
        err.print(Text(f"warning: {warning}"))
    typer.echo(document["id"])


@app.command("linkage")
def linkage(
    spec: Annotated[
        Path,
        typer.Argument(
            metavar="SPEC",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A LinkageRequest JSON file (see examples/design/linkage.json).",
        ),
    ],
    segmentation: Annotated[
        str | None,
        typer.Option("--segmentation", help="Use this segmentation id instead of the file's."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build a linkage from a segmentation (like POST /api/design/linkage).

    stdout: the links and joints, then the linkage id alone on the last line, or, with
    `export_urdf`, the exported asset id (run it with `asset_id`). With --json, stdout is
    the LinkageResult document and nothing else.

    Exit 0: built. 1: refused (each rule broken on stderr with its JSON pointer; nothing
    stored). 2: usage error.
    """
    try:
        body = json.loads(spec.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _usage(f"cannot read {spec}: {exc}")
    if not isinstance(body, dict):
        _usage(f"{spec} must hold a JSON object (a LinkageRequest)")
    if segmentation is not None:
        body["segmentation_id"] = segmentation
    request = _checked(LinkageRequest, body)
    document = _run(lambda service: service.link(request))
    if as_json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    out.print(_links(document))
    for warning in document["warnings"]:
        err.print(Text(f"warning: {warning}"))
    verification = document["verification"]
    if verification is not None:
        err.print(Text(f"check: {_verification(verification)}"))
    typer.echo(document["exported_asset_id"] or document["id"])


def _checked(model: Any, body: dict[str, Any]) -> dict[str, Any]:
    """`body` validated against the contract, as the API would receive it."""
    try:
        checked = model.model_validate(body)
    except ValidationError as exc:
        err.print(Text("error: the request is invalid"))
        for error in exc.errors():
            where = "/" + "/".join(str(part) for part in error["loc"])
            err.print(Text(f"  {where}: {error['msg']}"))
        raise typer.Exit(EXIT_USAGE) from None
    return checked.model_dump(mode="json", exclude_unset=True)  # type: ignore[no-any-return]


def _run(work: Any) -> dict[str, Any]:
    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        _usage(f"invalid environment settings: {exc}")
    configure_logging("WARNING")  # JSON lines on stderr; stdout stays the result
    projects = OpenProjects(ProjectStore(settings.runs_dir))
    # A server may be working in the same RUNS_DIR: its staging folders stay.
    assets = AssetService(settings, check_project=projects.require_open, clear_staging=False)
    service = DesignService(settings, assets, clear_staging=False)
    try:
        return asyncio.run(work(service))
    except QersError as exc:
        err.print(Text(f"error: {exc.detail}"))
        for error in exc.errors:
            err.print(Text(f"  {error.get('pointer') or '/'}: {error.get('reason')}"))
        raise typer.Exit(EXIT_REFUSED) from None


def _parts(document: dict[str, Any]) -> Table:
    table = Table(title=Text(f"Segmentation {document['id']} ({document['method']})"))
    for column in ("part", "faces", "volume m³", "mass kg", "centroid m", "hulls", "closed"):
        table.add_column(column, justify="left" if column == "part" else "right")
    for part in document["parts"]:
        table.add_row(
            Text(part["name"]),
            str(part["faces"]),
            f"{part['volume_m3']:.4g}",
            f"{part['mass_kg']:.4g}",
            " ".join(f"{value:.3f}" for value in part["centroid_m"]),
            str(len(part["hulls"])),
            "yes" if part["watertight"] else "no",
        )
    return table


def _links(document: dict[str, Any]) -> Table:
    table = Table(title=Text(f"Linkage {document['id']}: {document['dof']} DoF"))
    for column in ("link", "mass kg", "inertia from", "joint", "type", "parent"):
        table.add_column(column)
    joints = {joint["child"]: joint for joint in document["joints"]}
    for link in document["links"]:
        joint = joints.get(link["name"])
        table.add_row(
            Text(link["name"]),
            f"{link['mass_kg']:.4g}",
            link["inertia_source"],
            Text(joint["name"]) if joint else "",
            joint["type"] if joint else "(root)",
            Text(joint["parent"]) if joint else "",
        )
    return table


def _verification(verification: dict[str, Any]) -> str:
    if not verification["loaded"]:
        return "failed: PyBullet did not load the URDF"
    if not verification["finite"]:
        return "failed: its state stopped being finite"
    joints = verification["joints"]
    moved = sum(1 for joint in joints if joint["moved"] and joint["within_limits"])
    return (
        f"{moved} of {len(joints)} joints moved within their limits ({verification['steps']} steps)"
    )


def _usage(message: str) -> NoReturn:
    err.print(Text(f"error: {message}"))
    raise typer.Exit(EXIT_USAGE)
