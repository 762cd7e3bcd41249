"""`qers plan "task…"`: a plan of QERS requests for review, from the command line.

The same `PlanService` as `POST /api/ai/plan`: the same checks and planners (the LLM one
when `QERS_PLANNER_URL` is set), stored in RUNS_DIR where `GET /api/ai/plans/{id}` serves it.
Nothing is executed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from generated.models import PlanRequest
from handlers.ai.service import PlanService
from handlers.assets.store import AssetStore
from handlers.catalogue.service import Catalogue
from handlers.errors import QersError
from handlers.kit.logging import configure_logging
from handlers.projects.service import OpenProjects
from handlers.projects.store import ProjectStore
from handlers.settings import Settings

EXIT_REFUSED = 1
EXIT_USAGE = 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def plan(
    task: Annotated[str, typer.Argument(metavar="TASK", help="What you want to learn.")],
    asset: Annotated[str | None, typer.Option("--asset", help="Robot: an asset id.")] = None,
    urdf: Annotated[
        str | None, typer.Option("--urdf", help="Robot: a URDF path on the server.")
    ] = None,
    scenario: Annotated[str | None, typer.Option("--scenario", help="Use this scenario.")] = None,
    profile: Annotated[
        list[str] | None, typer.Option("--profile", help="A profile it may use; repeatable.")
    ] = None,
    max_runs: Annotated[int | None, typer.Option("--max-runs", help="Budget: runs.")] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Budget: steps over all runs.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Plan as JSON.")] = False,
) -> None:
    """Propose runs, a batch and comparisons that answer TASK (review only; nothing runs).

    stdout: the steps as a table, then the plan id alone on the last line; with --json, the
    Plan document and nothing else. Submit a step yourself after reviewing it.

    Exit 0: planned. 1: refused (the problem on stderr). 2: usage error.
    """
    budget = {
        key: value
        for key, value in (("max_runs", max_runs), ("max_steps_total", max_steps))
        if value is not None
    }
    body: dict[str, Any] = {"task": task}
    optional = {
        "asset_id": asset,
        "urdf_path": urdf,
        "scenario": scenario,
        "profiles": profile or None,
        "project_id": project,
        "budget": budget or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    try:
        request = PlanRequest.model_validate(body).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        err.print(Text("error: the request is invalid"))
        for error in exc.errors():
            where = "/" + "/".join(str(part) for part in error["loc"])
            err.print(Text(f"  {where}: {error['msg']}"))
        raise typer.Exit(EXIT_USAGE) from None
    document = _create(request)
    if as_json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    out.print(_table(document))
    for warning in document["warnings"]:
        err.print(Text(f"warning: {warning}"))
    typer.echo(document["id"])


def _create(request: dict[str, Any]) -> dict[str, Any]:
    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        _usage(f"invalid environment settings: {exc}")
    configure_logging("WARNING")  # JSON lines on stderr; stdout stays the result
    projects = OpenProjects(ProjectStore(settings.runs_dir))
    service = PlanService(
        settings,
        catalogue=Catalogue(),
        check_asset=AssetStore(settings.runs_dir).get,
        check_project=projects.require_open,
    )
    try:
        return asyncio.run(service.create(request))
    except QersError as exc:
        err.print(Text(f"error: {exc.detail}"))
        for error in exc.errors:
            err.print(Text(f"  {error.get('pointer') or '/'}: {error.get('reason')}"))
        raise typer.Exit(EXIT_REFUSED) from None


def _table(document: dict[str, Any]) -> Table:
    """One row per step (fits 80 columns), what it waits for and checks beneath."""
    cost = document["cost"]
    title = (
        f"Plan {document['id']} ({document['generator']}, review only): "
        f"{cost['runs']} runs, {cost['steps_total']} steps"
    )
    table = Table(title=Text(title), caption=Text(document["summary"]), show_lines=True)
    table.add_column("step", overflow="fold")  # the notes beneath fold; the numbers never do
    table.add_column("operation", no_wrap=True, min_width=13)
    table.add_column("runs", justify="right", no_wrap=True, min_width=4)
    table.add_column("steps", justify="right", no_wrap=True, min_width=7)
    for step in document["steps"]:
        notes = [f"after {', '.join(step['depends_on'])}"] if step["depends_on"] else []
        notes += [f"check {c['source']} {c['op']} {c['threshold']:g}" for c in step["checks"]]
        label = Text(step["id"])
        for note in notes:
            label.append(f"\n  {note}", style="dim")
        table.add_row(label, step["operation"], str(step["runs"]), str(step["steps_total"]))
    return table


def _usage(message: str) -> NoReturn:
    err.print(Text(f"error: {message}"))
    raise typer.Exit(EXIT_USAGE)
