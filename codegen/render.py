"""Render the routers, Protocols, registry and API module from the operations."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from codegen.contracts import Contracts
from codegen.multipart import MULTIPART_MODULE
from codegen.negotiation import NEGOTIATION_MODULE
from codegen.routes import RouteView, pascal, published, route_view, snake

TEMPLATES = Path(__file__).parent / "templates"
# Sections of openapi.yaml's `components` published as written (schemas come from the models).
SHARED_COMPONENTS = ("headers", "responses")


@dataclass(frozen=True)
class TagGroup:
    """The operations of one tag: one router module, one Protocol."""

    tag: str
    module: str
    attribute: str
    protocol: str
    routes: tuple[RouteView, ...]
    sources: str


def render_code(contracts: Contracts, *, header: str) -> dict[str, str]:
    """Return `{relative path: source}` for everything but the models."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - Python source, not HTML
    )
    env.filters["pyrepr"] = repr
    groups = _groups(contracts)
    all_models = sorted({m for g in groups for r in g.routes for m in r.models})
    openapi_files = "contracts/openapi.yaml"
    files: dict[str, str] = {}
    for group in groups:
        models = sorted({m for r in group.routes for m in r.models})
        files[f"routers/{group.module}.py"] = env.get_template("router.py.jinja").render(
            header=header.format(sources=group.sources),
            tag=group.tag,
            protocol=group.protocol,
            getter=f"{group.attribute}_handler",
            models=models,
            fastapi_imports=_fastapi_imports(group),
            negotiates=any(r.negotiated for r in group.routes),
            forms=any(r.form for r in group.routes),
            routes=group.routes,
        )
    files["routers/__init__.py"] = (
        header.format(sources=openapi_files) + '"""One router per tag."""\n'
    )
    common: dict[str, Any] = {"header": header.format(sources=openapi_files), "groups": groups}
    files["protocols.py"] = env.get_template("protocols.py.jinja").render(
        **common, models=all_models
    )
    files["registry.py"] = env.get_template("registry.py.jinja").render(**common)
    files["deps.py"] = env.get_template("deps.py.jinja").render(**common)
    webhooks = tuple(route_view(contracts, op) for op in contracts.webhooks)
    files["webhooks.py"] = env.get_template("webhooks.py.jinja").render(
        header=header.format(sources=_sources(contracts, webhooks)),
        models=sorted({m for r in webhooks for m in r.models}),
        routes=webhooks,
    )
    components = contracts.openapi.get("components", {})
    files["api.py"] = env.get_template("api.py.jinja").render(
        **common,
        info=_info(contracts),
        servers=contracts.openapi.get("servers", []),
        forms=[r for g in groups for r in g.routes if r.form],
        tags=[dict(t) for t in contracts.openapi.get("tags", [])],
        security_schemes=components.get("securitySchemes", {}),
        # Shared responses and headers, with their schemas/ references made component ones.
        shared={key: published(components[key]) for key in SHARED_COMPONENTS if key in components},
    )
    files["multipart.py"] = header.format(sources="codegen/multipart.py") + "\n" + MULTIPART_MODULE
    files["negotiation.py"] = (
        header.format(sources="codegen/negotiation.py") + "\n" + NEGOTIATION_MODULE
    )
    files["__init__.py"] = (
        header.format(sources="contracts/") + '"""Code generated from contracts/ by codegen."""\n'
    )
    return {path: _format(source) for path, source in files.items()}


def _groups(contracts: Contracts) -> list[TagGroup]:
    groups = []
    for tag in contracts.tags:
        ops = [op for op in contracts.operations if op.tag == tag]
        if not ops:
            continue
        routes = tuple(route_view(contracts, op) for op in ops)
        groups.append(
            TagGroup(
                tag=tag,
                module=snake(tag),
                attribute=snake(tag),
                protocol=f"{pascal(tag)}Handler",
                routes=routes,
                sources=_sources(contracts, routes),
            )
        )
    return groups


def _sources(contracts: Contracts, routes: tuple[RouteView, ...]) -> str:
    """The contract files a generated module comes from, for its header."""
    schema_files = sorted({contracts.schema_file(m) for r in routes for m in r.models})
    return ", ".join(["contracts/openapi.yaml", *schema_files])


def _fastapi_imports(group: TagGroup) -> list[str]:
    names = {"Request", "Response"}
    for route in group.routes:
        for param in route.op.parameters:
            names.add({"path": "Path", "query": "Query", "header": "Header"}[param.location])
        if route.negotiated:
            names.add("Header")
        if route.form:
            names.add("Depends")
    return sorted(names)


def _info(contracts: Contracts) -> dict[str, str]:
    info = contracts.openapi.get("info", {})
    return {
        "title": info.get("title", ""),
        "version": info.get("version", ""),
        "description": info.get("description", ""),
    }


def _format(source: str) -> str:
    """Format with the pinned ruff, so the output reads like the rest of the code."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--isolated", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout
