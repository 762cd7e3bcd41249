"""A tiny app with our problem handlers and middleware, and a captured log stream."""

import io
from collections.abc import Iterator
from typing import Annotated

import pytest
import structlog
from fastapi import FastAPI, Header, Query, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from handlers.errors import ConflictError, NotImplementedOperation, ServiceUnavailable
from handlers.http.middleware import install_middleware
from handlers.http.problems import install_problem_handlers
from handlers.kit.logging import configure_logging
from handlers.settings import Settings

MAX_BODY_BYTES = 2048
_log = structlog.get_logger("tests.app")
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=8)]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(default=10, ge=1, le=1000)
    tags: list[str] = Field(default_factory=list, max_length=3)


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=20)
    options: Options = Field(default_factory=Options)
    webhook_secret: str | None = None


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_middleware(app, Settings(max_body_bytes=MAX_BODY_BYTES))

    @app.get("/v1/widgets/{widget_id}")
    async def get_widget(widget_id: int, limit: Annotated[int, Query(ge=1, le=5)] = 1) -> dict:
        _log.info("reading widget", widget_id=widget_id)
        return {"id": widget_id, "limit": limit}

    @app.post("/v1/widgets", status_code=201)
    async def create_widget(
        body: Widget,
        request: Request,
        idempotency_key: IdempotencyKey = None,
    ) -> dict:
        # Careless on purpose: the redaction must hold even when headers are logged whole.
        _log.info("creating widget", headers=dict(request.headers), body=body)
        return {"name": body.name}

    @app.get("/v1/crash")
    async def crash() -> dict:
        raise RuntimeError("boom at /srv/qers/secret/path with Authorization: Bearer s3cr3t")

    @app.get("/v1/todo")
    async def todo() -> dict:
        raise NotImplementedOperation("createRun")

    @app.get("/v1/busy")
    async def busy() -> dict:
        raise ServiceUnavailable("Redis is not reachable.", retry_after_s=7)

    @app.get("/v1/conflict")
    async def conflict() -> dict:
        raise ConflictError("Run run_abc is already finished.")

    return app


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    configure_logging("INFO")


@pytest.fixture
def client(log_stream: io.StringIO) -> Iterator[TestClient]:
    with TestClient(build_app(), raise_server_exceptions=False) as test_client:
        yield test_client
