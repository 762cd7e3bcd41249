"""Browser-facing protections: security headers on every response, CSP on HTML, CORS.

Every response gets `SECURITY_HEADERS`; an HTML page (`/docs`, `/redoc`, `/dashboard*`) also
gets `content_security_policy()` unless its route set its own (the doc pages add the hashes of
FastAPI's inline scripts); every response but a static file gets `Cache-Control: no-store`.
CORS is off unless `QERS_CORS_ORIGINS` names exact origins.
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Iterable
from hashlib import sha256

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.settings import Settings

CSP_HEADER = "Content-Security-Policy"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Answers hold one principal's data (a generated webhook secret, once): no browser or shared
# cache may keep them. Static files (the same for everyone) stay cacheable.
CACHE_CONTROL = "no-store"
STATIC_PREFIX = "/static/"
# ReDoc, plotly and Swagger UI add styles at run time: inline styles stay allowed, scripts not.
# Plotly draws heat maps through data: images; the asset preview is a blob: image.
CSP_DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data: blob:"),
    ("worker-src", "'self' blob:"),
    ("connect-src", "'self'"),
    ("font-src", "'self' data:"),
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("frame-ancestors", "'none'"),
    ("form-action", "'self'"),
)
CORS_METHODS = ("GET", "POST", "PATCH")
CORS_HEADERS = ("Content-Type", "X-API-Key", "Authorization", "Idempotency-Key")
CORS_EXPOSED = (
    "Location",
    "Retry-After",
    "Idempotent-Replayed",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def content_security_policy(*, script_hashes: Iterable[str] = ()) -> str:
    """The HTML pages' policy; `script_hashes` (`'sha256-…'`) admit those inline scripts."""
    extra = " ".join(script_hashes)
    return "; ".join(
        f"{name} {value} {extra}" if name == "script-src" and extra else f"{name} {value}"
        for name, value in CSP_DIRECTIVES
    )


def inline_script_hashes(html: str) -> list[str]:
    """The CSP source (`'sha256-<base64>'`) of each inline `<script>` of `html`."""
    return [
        f"'sha256-{b64encode(sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


class SecurityHeadersMiddleware:
    """`SECURITY_HEADERS` on every response, the CSP on HTML, `no-store` on all but static
    files; a route's own values win."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Raw (lower-case name, value) pairs, encoded once: this runs on every response.
        self._always = [_raw(name, value) for name, value in SECURITY_HEADERS.items()]
        self._no_store = _raw("Cache-Control", CACHE_CONTROL)
        self._policy = _raw(CSP_HEADER, content_security_policy())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        cacheable = scope["path"].startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {bytes(name).lower(): bytes(value) for name, value in raw}
                wanted = [*self._always, *(() if cacheable else (self._no_store,))]
                if present.get(b"content-type", b"").startswith(b"text/html"):
                    wanted.append(self._policy)
                raw += [pair for pair in wanted if pair[0] not in present]
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _raw(name: str, value: str) -> tuple[bytes, bytes]:
    return name.lower().encode("latin-1"), value.encode("latin-1")


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Let browsers on `settings.cors_origins` call the API; nothing when none are set."""
    if not settings.cors_origins:
        return
    request_id = settings.request_id_header
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=list(CORS_METHODS),
        allow_headers=[*CORS_HEADERS, request_id],
        expose_headers=[*CORS_EXPOSED, request_id],
        allow_credentials=False,  # keys travel in headers, never in cookies
    )


def install_security_headers(app: FastAPI) -> None:
    """Add `SecurityHeadersMiddleware` (outermost when added last)."""
    app.add_middleware(SecurityHeadersMiddleware)
