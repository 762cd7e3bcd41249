"""`qers bench gaps`: run the sim-to-real gap benchmark suite and store its report.

The runs execute here (embedded, each in an isolated child, in parallel across the
cores) and are stored in RUNS_DIR with origin "benchmark", next to the report that
`GET /api/benchmarks/latest` serves.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from handlers.benchmarks.service import run_benchmark, suite, task_count
from handlers.errors import QersError
from handlers.isolation.executor import Executor
from handlers.runs.service import RunService
from handlers.settings import Settings

app = typer.Typer(help="Benchmarks.", no_args_is_help=True, add_completion=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@app.command("gaps")
def gaps(
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", help="Only these scenarios (repeatable).")
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option("--profile", help="Only these pseudo-reality profiles (repeatable)."),
    ] = None,
    episodes: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Episodes (seeds 0..N-1).")
    ] = None,
    steps: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Steps per run.")] = None,
) -> None:
    """Run the gap benchmark (the standard suite unless told otherwise); store the report."""
    from handlers.kit.logging import configure_logging

    settings = Settings.from_env()
    configure_logging("WARNING")
    chosen = suite(scenarios=scenario, profiles=profile, episodes=episodes, steps=steps)
    runs = RunService(settings=settings, executor=Executor())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("gap benchmark", total=task_count(chosen))

        def done(what: str) -> None:
            bar.update(task, advance=1, description=what)

        try:
            report = asyncio.run(run_benchmark(chosen, runs=runs, settings=settings, on_done=done))
        except QersError as exc:
            err.print(f"error: {exc.detail}")
            raise typer.Exit(1) from exc
    _summary(report)


def _summary(report: dict[str, Any]) -> None:
    table = Table(title=f"gap benchmark {report['id']} ({report['suite']['name']} suite)")
    for column in ("profile", "G_dyn mean", "G_dyn worst", "G_perc", "success drop", "score drop"):
        table.add_column(column)
    for item in [*report["profiles"], {"profile": "all", **report}]:
        perf = item["G_perf"]
        table.add_row(
            item["profile"],
            f"{item['G_dyn']['nrmse_mean']:.4f}",
            f"{item['G_dyn']['nrmse_worst']:.4f} ({item['G_dyn']['worst_dimension']})",
            f"{item['G_perc']['value']:.5f}",
            f"{perf['success_rate_drop_abs']:+.3f}",
            f"{perf['score_drop_abs']:+.4f}",
        )
    out.print(table)
    out.print(f"stored {report['id']} in {report['duration_s']:.1f} s")
