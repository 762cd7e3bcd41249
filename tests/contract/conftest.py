"""Fixtures for the contract tests: the app, its published document and the contracts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.contract.documents import (
    Document,
    build_app,
    fetch_published,
    load_contract_operations,
    load_contract_schemas,
)


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty runs folder for the app under test."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def app(runs_dir: Path) -> FastAPI:
    """The QERS app with its real handlers."""
    return build_app(runs_dir)


@pytest.fixture(scope="session")
def published(app: FastAPI) -> Document:
    """The OpenAPI document the app serves at `/openapi.json` (do not mutate)."""
    return fetch_published(app)


@pytest.fixture(scope="session")
def contract_ops() -> Document:
    """`contracts/openapi.yaml` (do not mutate)."""
    return load_contract_operations()


@pytest.fixture(scope="session")
def contract_schemas() -> dict[str, Document]:
    """`contracts/schemas/*.schema.json` by schema name (do not mutate)."""
    return load_contract_schemas()
