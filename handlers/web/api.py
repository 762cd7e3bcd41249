"""`/dashboard`: server-rendered pages whose scripts read only the public JSON API.

Outside the contract (not in `/openapi.json`). Each page is a Jinja template; its data comes
from the same operations any client calls, fetched by the page's script with the user's
API key or token from session storage (never in a URL). Plots are drawn by plotly.js from
the installed `plotly` package (located, not imported: the API process does not load it).

A page's script sets `body[data-ready="1"]` once its data is rendered and every plot drawn
(`"error"` if loading failed); an action that re-renders sets it to `"0"` until it is done.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
PREFIX = "/dashboard"
STATIC_URL = "/static/dashboard"
PLOTLY_URL = "/static/plotly"


def plotly_folder() -> Path:
    """The installed plotly package's `package_data` folder (holding plotly.min.js)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed (make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data"


templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _page(request: Request, template: str, *, title: str, **ids: str) -> HTMLResponse:
    """Render `template` for the page script `<template name>.js`; `ids` become `data-*`."""
    context: dict[str, Any] = {
        "page": template.removesuffix(".html"),
        "title": title,
        "root": _root(request),
        "ids": ids,
        "static": STATIC_URL,
        "plotly": PLOTLY_URL,
    }
    return templates.TemplateResponse(request, template, context)


@router.get("")
async def home(request: Request) -> RedirectResponse:
    """Redirect to the runs list."""
    return RedirectResponse(f"{_root(request)}{PREFIX}/runs")


@router.get("/runs")
async def runs(request: Request) -> HTMLResponse:
    """Render the runs list."""
    return _page(request, "runs.html", title="Runs")


@router.get("/runs/new")
async def new_run(request: Request) -> HTMLResponse:
    """Render the form that starts a run."""
    return _page(request, "new.html", title="Start a run", kind="run")


@router.get("/runs/{run_id}")
async def run(request: Request, run_id: str) -> HTMLResponse:
    """Render one run."""
    return _page(request, "run.html", title=f"Run {run_id}", run_id=run_id)


@router.get("/batches/new")
async def new_batch(request: Request) -> HTMLResponse:
    """Render the form that starts a batch."""
    return _page(request, "new.html", title="Start a batch", kind="batch")


@router.get("/batches/{batch_id}")
async def batch(request: Request, batch_id: str) -> HTMLResponse:
    """Render one batch."""
    return _page(request, "batch.html", title=f"Batch {batch_id}", batch_id=batch_id)


@router.get("/compare")
async def compare(request: Request) -> HTMLResponse:
    """Render the run comparison."""
    return _page(request, "compare.html", title="Compare runs")


@router.get("/benchmark")
async def benchmark(request: Request) -> HTMLResponse:
    """Render the latest benchmark."""
    return _page(request, "benchmark.html", title="Benchmark")


@router.get("/projects")
async def projects(request: Request) -> HTMLResponse:
    """Render the projects list."""
    return _page(request, "projects.html", title="Projects")


@router.get("/assets")
async def assets(request: Request) -> HTMLResponse:
    """Render the assets list."""
    return _page(request, "assets.html", title="Assets")


@router.get("/assets/{asset_id}")
async def asset(request: Request, asset_id: str) -> HTMLResponse:
    """Render one asset."""
    return _page(request, "asset.html", title=f"Asset {asset_id}", asset_id=asset_id)


@router.get("/plans", response_model=None)
async def plans(request: Request, plan_id: str | None = None) -> HTMLResponse | RedirectResponse:
    """Open the plan named by `plan_id`, or render the form asking for one."""
    if plan_id:
        return RedirectResponse(f"{_root(request)}{PREFIX}/plans/{quote(plan_id.strip(), safe='')}")
    return _page(request, "plans.html", title="Plans")


@router.get("/plans/{plan_id}")
async def plan(request: Request, plan_id: str) -> HTMLResponse:
    """Render one plan for review."""
    return _page(request, "plan.html", title=f"Plan {plan_id}", plan_id=plan_id)


def install_dashboard(app: FastAPI) -> None:
    """The dashboard's routes and static files."""
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="dashboard-static")
    app.mount(PLOTLY_URL, StaticFiles(directory=plotly_folder()), name="plotly")
    app.include_router(router)
