"""`create_app(settings)`: the generated routes wired to the real handler objects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from generated.api import build_app
from generated.registry import HandlerRegistry
from handlers import forkserver
from handlers.executor import Executor
from handlers.health import HealthService
from handlers.logging import configure_logging
from handlers.middleware import install_middleware
from handlers.pending import (
    PendingAi,
    PendingAssets,
    PendingBatch,
    PendingBenchmarks,
    PendingDesign,
    PendingProjects,
)
from handlers.problems import install_problem_handlers
from handlers.runs import DashboardHandler, ProfilesHandler, RunsHandler, ScenariosHandler
from handlers.runservice import RunService
from handlers.settings import Settings
from handlers.sim import SimHandler


def create_handlers(settings: Settings) -> HandlerRegistry:
    """The handler object for every tag (see docs/status.md for what is built)."""
    runs = RunService(settings=settings, executor=Executor())
    return HandlerRegistry(
        health=HealthService(settings),
        runs=RunsHandler(runs),
        scenarios=ScenariosHandler(runs),
        dashboard=DashboardHandler(runs),
        projects=PendingProjects(),
        assets=PendingAssets(),
        design=PendingDesign(),
        sim=SimHandler(runs),
        benchmarks=PendingBenchmarks(),
        ai=PendingAi(),
        profiles=ProfilesHandler(runs),
        batch=PendingBatch(),
    )


def create_app(
    settings: Settings | None = None, *, handlers: HandlerRegistry | None = None
) -> FastAPI:
    """Build the QERS app; `handlers` lets tests wire other handler objects."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = build_app(docs_url="/docs", redoc_url=None, lifespan=_lifespan)
    app.state.settings = settings
    app.state.handlers = handlers or create_handlers(settings)
    install_problem_handlers(app)
    install_middleware(app, settings)
    return app


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Start the fork server (it imports the engine) before the first run needs it.
    await asyncio.to_thread(forkserver.ensure_running)
    yield
