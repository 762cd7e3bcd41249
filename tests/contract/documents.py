"""The two documents the contract tests compare: `contracts/` and the app's `/openapi.json`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from generated.registry import HandlerRegistry
from handlers.app import create_app, create_handlers, create_run_service
from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from handlers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
SCHEMA_DIR = CONTRACTS / "schemas"
OPENAPI_YAML = CONTRACTS / "openapi.yaml"
SNAPSHOT = ROOT / "docs" / "openapi.json"
SCHEMATHESIS_CONFIG = Path(__file__).with_name("schemathesis.toml")

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SCHEMA_SUFFIX = ".schema.json"
COMPONENT_PREFIX = "#/components/schemas/"
LOCAL_COMPONENT_PREFIX = "#/components/"

Document = dict[str, Any]
FUZZ_MAX_DURATION_S = 2.0
FUZZ_KEY_ENV = "QERS_FUZZ_API_KEY"  # read by schemathesis.toml


def build_app(runs_dir: Path, *, handlers: HandlerRegistry | None = None) -> FastAPI:
    """The app as `make serve` builds it (embedded backend), storing runs under `runs_dir`."""
    return create_app(_settings(runs_dir), handlers=handlers)


def build_fuzzed_app(runs_dir: Path) -> FastAPI:
    """`build_app` with auth on (`QERS_AUTH=api_key`), as in production, and an admin key in
    `FUZZ_KEY_ENV` for schemathesis.toml's `[auth.openapi.ApiKeyAuth]` (its `ignored_auth`
    check then proves that every operation refuses a request without it)."""
    settings = _settings(runs_dir).model_copy(update={"auth": ("api_key",)})
    app = create_app(settings)
    os.environ[FUZZ_KEY_ENV] = admin_key(runs_dir)
    return app


def admin_key(runs_dir: Path) -> str:
    """A new admin API key, stored in `runs_dir` as `qers keys create` would."""
    made, _ = KeyStore(runs_dir).create(role=Role.ADMIN, name="fuzz")
    return made.key


def empty_server(app: FastAPI, runs_dir: Path) -> None:
    """Give `app` (from `build_app`) new handlers over `runs_dir`, a new empty folder.

    Warm spares are left out: each executor would keep its own, and they change no answer.
    """
    settings = _settings(runs_dir).model_copy(update={"warm_spares": 0})
    runs = create_run_service(settings)
    app.state.run_service = runs
    app.state.handlers = create_handlers(settings, runs)


def _settings(runs_dir: Path) -> Settings:
    # Fuzzed run requests really simulate: a short wall-clock budget keeps each one brief
    # (a longer run ends FAILED `TIMEOUT`, which is a valid answer too).
    return Settings(
        runs_dir=runs_dir,
        redis_url=None,
        default_max_duration_s=FUZZ_MAX_DURATION_S,
        max_duration_ceiling_s=FUZZ_MAX_DURATION_S,
    )


def fetch_published(app: FastAPI) -> Document:
    """The document the app serves at `/openapi.json`."""
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    response.raise_for_status()
    document: Document = response.json()
    return document


def load_contract_operations() -> Document:
    """`contracts/openapi.yaml`, parsed."""
    document: Document = yaml.safe_load(OPENAPI_YAML.read_text(encoding="utf-8"))
    return document


def load_contract_schemas() -> dict[str, Document]:
    """Every `contracts/schemas/<Name>.schema.json`, by `<Name>`."""
    return {
        path.name.removesuffix(SCHEMA_SUFFIX): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMA_DIR.glob(f"*{SCHEMA_SUFFIX}"))
    }


def load_snapshot() -> Document:
    """The committed `docs/openapi.json`."""
    document: Document = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return document


def resolved(document: Document, node: Document) -> Document:
    """`node`, or the shared response or header of `document` its `#/components/` `$ref`
    names (both documents write those the same way)."""
    ref = node.get("$ref", "")
    if not ref.startswith(LOCAL_COMPONENT_PREFIX):
        return node
    section, name = ref.removeprefix(LOCAL_COMPONENT_PREFIX).split("/", 1)
    found: Document = document["components"][section][name]
    return found


def contract_ref_name(ref: str) -> str:
    """`schemas/Run.schema.json` or `Run.schema.json` -> `Run`."""
    return ref.rsplit("/", 1)[-1].removesuffix(SCHEMA_SUFFIX)


def published_ref_name(ref: str) -> str:
    """`#/components/schemas/Run` -> `Run`."""
    return ref.removeprefix(COMPONENT_PREFIX)


def operations(document: Document, section: str = "paths") -> dict[tuple[str, str], Document]:
    """Every operation of an OpenAPI document by (METHOD, path); `section="webhooks"` gives
    the webhooks by (METHOD, webhook name)."""
    return {
        (method.upper(), path): operation
        for path, item in document.get(section, {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
