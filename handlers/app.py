"""`create_app(settings)`: the generated routes wired to the real handler objects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from generated.api import build_app
from generated.registry import HandlerRegistry
from handlers.ai.api import AiApi
from handlers.ai.service import PlanService
from handlers.assets.api import AssetsApi
from handlers.assets.service import AssetService
from handlers.auth.service import Authenticator
from handlers.auth.store import KeyStore
from handlers.batch.api import BatchApi
from handlers.batch.service import BatchService
from handlers.benchmarks.api import BenchmarksApi
from handlers.catalogue.api import ProfilesApi, ScenariosApi
from handlers.catalogue.service import Catalogue
from handlers.dashboard.api import DashboardApi
from handlers.design.api import DesignApi
from handlers.design.service import DesignService
from handlers.errors import ServiceUnavailable
from handlers.health.api import HealthApi
from handlers.health.service import HealthService
from handlers.http.auth import install_auth
from handlers.http.docs import install_offline_docs
from handlers.http.middleware import install_middleware
from handlers.http.problems import install_problem_handlers
from handlers.http.ratelimit import create_limiter, install_failed_auth_limit, install_rate_limit
from handlers.http.security import install_cors, install_security_headers
from handlers.idempotency.stores import store_for
from handlers.isolation import forkserver
from handlers.isolation.executor import Executor, pooled
from handlers.kit.logging import configure_logging
from handlers.projects.api import ProjectsApi
from handlers.projects.service import Counters, OpenProjects, ProjectService
from handlers.projects.store import ProjectStore
from handlers.queue.client import RunQueue, connect
from handlers.runs.api import RunsApi
from handlers.runs.service import RunService
from handlers.settings import Settings
from handlers.sim.api import SimApi
from handlers.web.api import install_dashboard

_log = structlog.get_logger("qers.app")


def create_run_service(settings: Settings) -> RunService:
    """The RunService for `settings`: queued on Redis when REDIS_URL is set, else embedded."""
    queue = RunQueue(connect(settings.redis_url), settings) if settings.redis_url else None
    # Embedded runs answer when they end: warm spares take a child's start-up off that wait.
    # In the queued mode the workers run them; this process needs none.
    spares = 0 if queue is not None else settings.warm_spares
    executor = Executor(
        pooled(
            spares=spares,
            max_episodes=settings.sim_child_max_episodes,
            max_growth_mb=settings.sim_child_max_growth_mb,
        )
    )
    # One key store for every creating operation (runs, sim jobs, batches, projects).
    keys = store_for(settings, queue.redis if queue is not None else None)
    # Runs, sim jobs and batches (BatchService takes `runs.projects`) go into open projects.
    projects = OpenProjects(ProjectStore(settings.runs_dir))
    return RunService(
        settings=settings, executor=executor, queue=queue, idempotency_keys=keys, projects=projects
    )


def create_handlers(settings: Settings, runs: RunService | None = None) -> HandlerRegistry:
    """The handler object for every tag (see docs/status.md for what is built)."""
    runs = runs or create_run_service(settings)
    catalogue = Catalogue()
    batches = BatchService(
        runs, settings, idempotency_keys=runs.idempotency_keys, projects=runs.projects
    )
    # Assets go into open projects too; runs and batches simulate them by `asset_id`.
    assets = AssetService(settings, check_project=runs.projects.require_open)
    runs.assets = assets
    counters = Counters(
        runs=lambda project_id: runs.count(project_id=project_id),
        batches=batches.count_in_project,
        assets=assets.count_in_project,
    )
    projects = ProjectService(
        ProjectStore(settings.runs_dir), counters=counters, idempotency_keys=runs.idempotency_keys
    )
    return HandlerRegistry(
        health=HealthApi(settings, HealthService(settings, runs.queue)),
        runs=RunsApi(runs),
        scenarios=ScenariosApi(catalogue),
        dashboard=DashboardApi(runs),
        projects=ProjectsApi(projects),
        assets=AssetsApi(assets, runs.idempotency_keys),
        design=DesignApi(DesignService(settings, assets), runs.idempotency_keys),
        sim=SimApi(runs),
        benchmarks=BenchmarksApi(settings),
        ai=AiApi(
            PlanService(
                settings,
                catalogue=catalogue,
                check_asset=assets.get,
                check_project=runs.projects.require_open,
            ),
            runs.idempotency_keys,
        ),
        profiles=ProfilesApi(catalogue),
        batch=BatchApi(batches, runs),
    )


def create_app(
    settings: Settings | None = None, *, handlers: HandlerRegistry | None = None
) -> FastAPI:
    """Build the QERS app; `handlers` lets tests wire other handler objects."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    # FastAPI's own docs pages load Swagger UI from a CDN: these serve every asset from here.
    app = build_app(docs_url=None, redoc_url=None, lifespan=_lifespan)
    install_offline_docs(app)
    install_dashboard(app)
    app.state.settings = settings
    app.state.run_service = None
    if handlers is None:
        app.state.run_service = create_run_service(settings)
        handlers = create_handlers(settings, app.state.run_service)
    app.state.handlers = handlers
    install_problem_handlers(app)
    # Middleware added first runs innermost. The rate limit sits inside auth, where the
    # principal is known; the count of 401s per address sits outside it, where they are seen.
    limiter = create_limiter(settings)
    gate = create_gate(settings)
    install_rate_limit(app, limiter)
    install_auth(app, gate)  # inside the request context: 401s carry ids
    if gate is not None:
        install_failed_auth_limit(app, limiter)
    install_middleware(app, settings)
    # Added last, so outermost: CORS answers a preflight before auth would refuse it (a
    # browser sends no credentials with one), and every response, preflights too, gets the
    # security headers.
    install_cors(app, settings)
    install_security_headers(app)
    return app


def create_gate(settings: Settings) -> Authenticator | None:
    """The auth gate `QERS_AUTH` asks for; None when auth is off."""
    if not settings.auth:
        return None
    return Authenticator(settings, keys=KeyStore(settings.runs_dir))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Start the fork server (it imports the engine) and the warm spares before the first
    # run needs them.
    runs: RunService | None = app.state.run_service
    await asyncio.to_thread(runs.warm_up if runs is not None else forkserver.ensure_running)
    if runs is not None and not runs.queued:
        await asyncio.to_thread(_recover, runs)
    reconciler = None
    if runs is not None and runs.queued:
        interval_s = app.state.settings.reconcile_interval_s
        reconciler = asyncio.create_task(_reconcile_forever(runs, interval_s))
    try:
        yield
    finally:
        if reconciler is not None:
            reconciler.cancel()


def _recover(runs: RunService) -> None:
    """Embedded mode: fail SERVER_LOST the runs left unfinished by API processes that died."""
    try:
        runs.reconcile()
    except ServiceUnavailable:
        pass  # RUNS_DIR is unusable: health says so, and reads recover what they meet
    except Exception:
        _log.exception("recovering the runs of lost server processes failed")


async def _reconcile_forever(runs: RunService, interval_s: float) -> None:
    """Fail WORKER_LOST the runs of dead workers, every `interval_s` (queued mode)."""
    while True:
        try:
            lost = await asyncio.to_thread(runs.reconcile)
        except ServiceUnavailable:
            lost = []  # Redis is down; try again next round
        except Exception:
            _log.exception("reconciling runs failed")
            lost = []
        if lost:
            _log.warning("failed runs of lost workers", run_ids=lost)
        await asyncio.sleep(interval_s)
