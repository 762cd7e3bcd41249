"""`qers keys create|list|revoke`: API keys in RUNS_DIR (the server reads the same file)."""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from handlers.auth.keys import parse_duration
from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from handlers.errors import QersError
from handlers.kit.logging import configure_logging
from handlers.projects.store import is_valid_project_id
from handlers.settings import Settings

EXIT_REFUSED = 1
EXIT_USAGE = 2
ROLES = [role.label for role in Role]

app = typer.Typer(
    help="API keys (X-API-Key): create, list, revoke (stored hashed in RUNS_DIR).",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    project: Annotated[
        list[str] | None, typer.Option("--project", help="Project id (repeatable); none: all.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label for people.")] = "",
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 30d, 12h; none: no expiry.")
    ] = None,
) -> None:
    """Create a key and print it once, alone on the last line; only its hash is kept."""
    parsed = Role.parse(role)
    if parsed is None:
        _usage(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    projects = project or []
    bad = [item for item in projects if not is_valid_project_id(item)]
    if bad:
        _usage(f"--project {bad[0]!r} is not a project id (prj_...)")
    try:
        lifetime = parse_duration(expires) if expires is not None else None
    except ValueError as exc:
        _usage(f"--expires: {exc}")
    try:
        made, record = _store().create(role=parsed, projects=projects, name=name, lifetime=lifetime)
    except QersError as exc:
        _refused(exc)
    scope = ", ".join(record.projects) or "all projects"
    until = record.expires_at or "never"
    typer.echo(f"created key {record.id}: role {record.role.label}, {scope}, expires {until}")
    typer.echo("the key is shown this once; send it in the X-API-Key header:")
    typer.echo(made.key)


@app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List the keys (never their secrets): id, name, role, projects, dates."""
    try:
        records = _store().list()
    except QersError as exc:
        _refused(exc)
    if as_json:
        for record in records:
            typer.echo(json.dumps(record.public(), ensure_ascii=False))
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=16)  # whole, to be copied
    for column in ("name", "role", "projects", "created", "expires", "revoked"):
        table.add_column(column, overflow="fold")
    for record in records:
        shown = record.public()
        table.add_row(
            *(Text(str(shown[field] or "")) for field in ("id", "name", "role")),
            Text(", ".join(record.projects) or "all"),
            *(Text(str(shown[field] or "")) for field in ("created", "expires", "revoked")),
        )
    out.print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from keys list).")]) -> None:
    """Revoke a key: the server refuses it from its next request on."""
    try:
        record = _store().revoke(key_id)
    except QersError as exc:
        _refused(exc)
    typer.echo(f"revoked key {record.id} at {record.revoked_at}")


def _store() -> KeyStore:
    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        _usage(f"invalid environment settings: {exc}")
    configure_logging("WARNING")
    return KeyStore(settings.runs_dir)


def _refused(exc: QersError) -> NoReturn:
    err.print(Text(f"error: {exc.detail}"))
    raise typer.Exit(EXIT_REFUSED)


def _usage(message: str) -> NoReturn:
    err.print(Text(f"error: {message}"))
    raise typer.Exit(EXIT_USAGE)
