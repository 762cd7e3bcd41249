"""`/docs` (Swagger UI) and `/redoc` with every asset served from this server.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a machine without internet
they render nothing. The JS, CSS and favicon come from the installed `fastapi-offline`
package (Swagger UI 5, which reads OpenAPI 3.1; ReDoc 2). ReDoc's bundle loads its footer
logo from cdn.redoc.ly whatever its options say, so a copy with that URL pointing here is
served instead. FastAPI's Swagger UI pages start it with an inline script: their
Content-Security-Policy admits that script by its hash, and no other.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from handlers.http.security import CSP_HEADER, content_security_policy, inline_script_hashes

DOCS_STATIC = Path(str(files("fastapi_offline") / "static"))
STATIC_URL = "/static/docs"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _redoc_js() -> bytes:
    bundle = (DOCS_STATIC / "redoc.standalone.js").read_bytes()
    return bundle.replace(_REDOC_LOGO, f"{STATIC_URL}/favicon.png".encode())


def _admit_inline_scripts(page: HTMLResponse) -> HTMLResponse:
    """`page` with the CSP of every HTML page plus the hashes of its own inline scripts."""
    hashes = inline_script_hashes(bytes(page.body).decode())
    page.headers[CSP_HEADER] = content_security_policy(script_hashes=hashes)
    return page


def install_offline_docs(app: FastAPI) -> None:
    """Serve `/docs`, `/redoc`, their assets and `/favicon.ico` (none in the contract)."""

    @app.get(f"{STATIC_URL}/redoc.standalone.js", include_in_schema=False)
    async def redoc_standalone_js() -> Response:
        return Response(_redoc_js(), media_type="text/javascript")

    app.mount(STATIC_URL, StaticFiles(directory=DOCS_STATIC), name="docs-static")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _admit_inline_scripts(
            get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
                swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
                swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
            )
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return _admit_inline_scripts(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(DOCS_STATIC / "favicon.png", media_type="image/png")
