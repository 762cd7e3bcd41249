"""`qers run`, `qers scenarios`, `qers profiles`: simulations from the command line.

`qers run` goes through the same `RunService` as `POST /v1/runs` (origin "cli"): the run
executes in an isolated child and is stored in RUNS_DIR, where the API lists it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from generated.models import RunCreate
from handlers.errors import QersError
from handlers.isolation.executor import Executor
from handlers.isolation.outcome import ExecutionResult
from handlers.isolation.supervisor import CancelSignal
from handlers.runs.request import RunRequest
from handlers.runs.service import RunService
from handlers.settings import Settings
from simengine import api as engine_api
from simengine.spec import DEFAULT_PROFILE, DEFAULT_SEED

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class ProgressExecutor(Executor):
    """An Executor that also reports every run's progress to `hook` (the progress bar)."""

    def __init__(self, hook: Callable[[int, int], None]) -> None:
        super().__init__()
        self._hook = hook

    async def execute_async(
        self,
        spec: dict[str, Any],
        *,
        max_duration_s: float,
        on_progress: Callable[[int, int], None] | None = None,
        cancel_event: CancelSignal | None = None,
    ) -> ExecutionResult:
        def both(done: int, total: int) -> None:
            self._hook(done, total)
            if on_progress is not None:
                on_progress(done, total)

        return await super().execute_async(
            spec, max_duration_s=max_duration_s, on_progress=both, cancel_event=cancel_event
        )


def run(
    scenario: Annotated[str, typer.Option("--scenario", help="Scenario name (qers scenarios).")],
    profile: Annotated[
        str, typer.Option(help="Reality profile (qers profiles).")
    ] = DEFAULT_PROFILE,
    steps: Annotated[
        int | None, typer.Option(help="Physics steps; default: the scenario's.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = DEFAULT_SEED,
    dt: Annotated[float | None, typer.Option(help="Timestep in s; default: the profile's.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Label for filtering; repeatable.")
    ] = None,
    urdf_path: Annotated[
        str | None, typer.Option(help="Robot file, e.g. examples/simple_robot.urdf.")
    ] = None,
    max_duration_s: Annotated[
        float | None, typer.Option(help="Wall-clock limit in s; default: the server's.")
    ] = None,
) -> None:
    """Run a simulation locally and store it in RUNS_DIR (visible through the API)."""
    body = _body(scenario, profile, steps, seed, dt, tag or [], urdf_path, max_duration_s)
    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        _usage(f"invalid environment settings: {exc}")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{scenario} on {profile}", total=steps)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        executor = ProgressExecutor(advance)
        executor.warm_up()  # the fork server's start-up does not count against the run
        service = RunService(settings=settings, executor=executor)
        try:
            result = asyncio.run(service.create(RunRequest.from_run_create(body), origin="cli"))
        except QersError as exc:
            bar.stop()
            _problem(exc)
    _report(result)


def scenarios() -> None:
    """List the scenarios."""
    table = Table(title="Scenarios")
    for column in ("name", "robot", "dof", "steps", "urdf", "title"):
        table.add_column(
            column, justify="right" if column in ("dof", "steps") else "left", no_wrap=True
        )
    for item in engine_api.list_scenarios():
        table.add_row(
            item["name"],
            item["robot"].split(" (")[0],
            "any" if item["dof"] is None else str(item["dof"]),
            str(item["default_steps"]),
            "yes" if item["accepts_urdf"] else "no",
            item["title"],
        )
    out.print(table)


def profiles() -> None:
    """List the reality profiles and their key parameters."""
    items = engine_api.list_profiles()
    table = Table(title="Reality profiles (mu: lateral friction; x: scale; DR: randomised)")
    widest = max((len(item["name"]) for item in items), default=4)
    table.add_column("name", no_wrap=True, min_width=widest)
    for column in ("g z", "dt ms", "floor mu", "robot mu", "mass x", "motor x", "lag", "DR"):
        table.add_column(column, justify="right")
    for item in items:
        randomised = [key for key, value in item["randomization"].items() if value is not None]
        table.add_row(
            item["name"],
            f"{item['gravity'][2]:g}",
            f"{item['timestep_s'] * 1000:.3g}",
            f"{item['floor_friction']['lateral']:g}",
            f"{item['robot_friction']['lateral']:g}",
            f"{item['mass_scale']:g}",
            f"{item['motor_strength_scale']:g}",
            str(item["actuator_latency_steps"]),
            str(len(randomised)),
        )
    out.print(table)


def _body(
    scenario: str,
    profile: str,
    steps: int | None,
    seed: int,
    dt: float | None,
    tags: list[str],
    urdf_path: str | None,
    max_duration_s: float | None,
) -> RunCreate:
    options: dict[str, Any] = {"profile": profile, "seed": seed, "tags": tags}
    optional = {"steps": steps, "dt": dt, "max_duration_s": max_duration_s}
    options.update({key: value for key, value in optional.items() if value is not None})
    document: dict[str, Any] = {"scenario": scenario, "options": options}
    if urdf_path is not None:
        document["config"] = {"urdf_path": urdf_path}
    try:
        return RunCreate.model_validate(document)
    except ValidationError as exc:
        err.print(f"error: {exc.error_count()} invalid option(s)")
        for error in exc.errors():
            where = "/" + "/".join(str(part) for part in error["loc"])
            err.print(f"  {where}: {error['msg']}")
        raise typer.Exit(EXIT_USAGE) from None


def _problem(exc: QersError) -> NoReturn:
    err.print(f"error: {exc.detail}")
    for error in exc.errors:
        err.print(f"  {error.get('pointer') or '/'}: {error.get('reason')}")
    raise typer.Exit(EXIT_USAGE)


def _report(result: dict[str, Any]) -> NoReturn:
    metrics = result.get("metrics")
    if metrics:
        table = Table(title=f"{result['scenario']} on {result['profile']}: metrics")
        table.add_column("metric", no_wrap=True)
        table.add_column("value", justify="right")
        for key, value in metrics.items():
            if key != "task":
                table.add_row(key, _number(value))
        for key, value in sorted((metrics.get("task") or {}).items()):
            table.add_row(f"task.{key}", _number(value))
        out.print(table)
    out.print(f"status: {result['status']}")
    out.print(f"run_id: {result['id']}")
    if result["status"] == "SUCCEEDED":
        raise typer.Exit(EXIT_SUCCEEDED)
    out.print(f"failure_code: {result.get('failure_code')}")
    out.print(f"failure_reason: {result.get('failure_reason')}")
    raise typer.Exit(EXIT_FAILED)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _usage(message: str) -> NoReturn:
    err.print(f"error: {message}")
    raise typer.Exit(EXIT_USAGE)
