"""The `qers` command line: offline validation against the contracts; runs (see cli_run);
assets (see cli_assets); design (see cli_design); plans (see cli_plan); API keys
(see cli_keys)."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from handlers.cli import assets as cli_assets
from handlers.cli import bench as cli_bench
from handlers.cli import design as cli_design
from handlers.cli import keys as cli_keys
from handlers.cli import plan as cli_plan
from handlers.cli import run as cli_run
from handlers.kit.contracts import ContractLoadError, ContractRegistry, UnknownSchema

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="qers",
    help="QERS: contract-first robot simulation service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ContractsOption = Annotated[
    Path | None,
    typer.Option(
        "--contracts",
        help="Contracts folder (or its schemas/ folder); default: the repository's.",
        envvar="QERS_CONTRACTS_DIR",
        file_okay=False,
    ),
]


@app.command()
def validate(
    schema: Annotated[str, typer.Argument(help="Schema name (e.g. RunCreate) or schema file.")],
    payloads: Annotated[list[str], typer.Argument(help="JSON payload files; '-' reads stdin.")],
    contracts: ContractsOption = None,
) -> None:
    """Validate JSON payloads against a contract schema, offline."""
    registry = _registry(contracts)
    try:
        registry.validator(schema)
    except UnknownSchema as exc:
        _usage_error(exc.detail)
    except ContractLoadError as exc:
        _usage_error(exc.detail)
    outcome = EXIT_VALID
    for source in payloads:
        try:
            instance = _read_payload(source)
        except ValueError as exc:
            typer.echo(f"{source}: {exc}", err=True)
            outcome = EXIT_USAGE
            continue
        try:
            violations = registry.errors(schema, instance)
        except ContractLoadError as exc:
            _usage_error(exc.detail)
        for pointer, message in violations:
            typer.echo(f"{source}: {pointer or '/'}: {message}")
        if violations:
            outcome = max(outcome, EXIT_INVALID)
        else:
            typer.echo(f"{source}: valid")
    raise typer.Exit(outcome)


@app.command()
def schemas(contracts: ContractsOption = None) -> None:
    """List the schema names the contracts define."""
    for name in _registry(contracts).names():
        typer.echo(name)


app.command("run")(cli_run.run)
app.command("scenarios")(cli_run.scenarios)
app.command("profiles")(cli_run.profiles)
app.add_typer(cli_bench.app, name="bench")
app.add_typer(cli_assets.app, name="assets")
app.add_typer(cli_design.app, name="design")
app.add_typer(cli_keys.app, name="keys")
app.command("plan")(cli_plan.plan)


@app.command()
def worker(
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit once the queue is empty instead of waiting.")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Worker name (default: qers-<host>-<pid>).")
    ] = None,
    fork: Annotated[
        bool,
        typer.Option(
            "--fork/--no-fork",
            help="Execute jobs in the worker process, one warm simulation child serving job "
            "after job (default), or fork an RQ work horse per job (the simulation is "
            "isolated in its own child either way).",
        ),
    ] = False,
) -> None:
    """Execute queued runs from Redis (needs REDIS_URL; any number, on any host)."""
    from handlers.kit.logging import configure_logging
    from handlers.settings import Settings
    from handlers.worker.main import run_worker

    settings = Settings.from_env()
    if not settings.redis_url:
        _usage_error("qers worker needs REDIS_URL (the Redis the API enqueues runs on)")
    configure_logging(settings.log_level)
    run_worker(settings, burst=burst, name=name, fork=fork)


def main() -> None:
    """Entry point of the `qers` console script."""
    app()


def _registry(contracts: Path | None) -> ContractRegistry:
    if contracts is not None and not contracts.is_dir():
        _usage_error(f"contracts folder not found: {contracts}")
    try:
        registry = ContractRegistry(contracts)
    except ContractLoadError as exc:
        _usage_error(exc.detail)
    if not registry.names():
        _usage_error(f"no *.schema.json files in {registry.schemas_dir}")
    return registry


def _read_payload(source: str) -> Any:
    """The JSON document in `source`; ValueError says why it cannot be read."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError("not UTF-8") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc


def _reject_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON (RFC 8259), though Python's json accepts them.
    raise ValueError(f"invalid JSON: {name} is not a JSON value")


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
