"""The baseline for the API-overhead bench: bare FastAPI with one equivalent route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()

_BODY = {
    "status": "ok",
    "version": "0.1.0",
    "engine": {"ok": True, "detail": "pybullet started in a child process"},
    "storage": {"ok": True, "detail": "runs directory is writable"},
    "job_backend": "embedded",
}


@app.get("/v1/health")
async def health() -> dict[str, Any]:
    return _BODY
