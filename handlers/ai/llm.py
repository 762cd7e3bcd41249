"""The optional LLM planner: one chat-completions call, its answer parsed, nothing trusted.

What the model answers is untrusted input: this module only fetches and parses it;
`handlers.ai.vetting` decides what of it a plan keeps. A failure of any kind is a warning,
never an exception, and neither the warnings nor the log lines carry the API key, the
prompt or the answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import structlog

from handlers.ai.context import PlanContext
from handlers.ai.prompt import system_message, user_message

GENERATOR_PREFIX = "llm:"
MAX_MODEL_CHARS = 60
MAX_CONTENT_CHARS = 1_000_000  # the answer itself (the plan's JSON)
MAX_BODY_BYTES = 8_000_000  # the response around it (JSON-escaped, with metadata)

# The warnings (with "did not answer within <timeout_s> s" and "answered with HTTP status
# <status>"): what failed, never the key, the URL or the answer.
_UNREACHABLE = "the LLM planner could not be reached"
_BROKEN = "the exchange with the LLM planner failed before it answered"
_TOO_LARGE = "the LLM planner's answer was larger than 1 MB"
_BODY_NOT_JSON = "the LLM planner's response was not JSON"
_NO_CONTENT = "the LLM planner's response held no answer (choices[0].message.content)"
_CONTENT_NOT_JSON = "the LLM planner's answer was not JSON"

_log = structlog.get_logger("qers.ai")


class _NoAnswerError(Exception):
    """Why there is no answer: a kind for the log and a warning for the plan."""

    def __init__(self, kind: str, warning: str, *, status: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.warning = warning
        self.status = status


class LlmPlanner:
    """Asks an OpenAI-compatible `/chat/completions` endpoint for a plan."""

    def __init__(self, *, url: str, model: str, api_key: str | None, timeout_s: float) -> None:
        self._endpoint = url.rstrip("/") + "/chat/completions"
        self._model = model
        self._api_key = api_key
        self._timeout_s = timeout_s

    def __repr__(self) -> str:  # never the key
        return f"LlmPlanner(generator={self.generator!r})"

    @property
    def generator(self) -> str:
        """`llm:<model>`, the model cut to 60 printable ASCII characters."""
        printable = "".join(c for c in self._model if "\x21" <= c <= "\x7e")
        return GENERATOR_PREFIX + (printable[:MAX_MODEL_CHARS] or "unknown")

    async def propose(self, task: str, context: PlanContext) -> tuple[Any | None, list[str]]:
        """The parsed JSON the model answered (or None) and warnings saying why not."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout_s):
                status, body = await self._post(self._payload(task, context))
            answer = _answer(status, body)
        except _NoAnswerError as failure:
            _log.warning(
                "llm planner failed",
                kind=failure.kind,
                status=failure.status,
                generator=self.generator,
                elapsed_ms=_elapsed_ms(started),
            )
            return None, [failure.warning]
        except TimeoutError:
            _log.warning(
                "llm planner failed",
                kind="timeout",
                status=None,
                generator=self.generator,
                elapsed_ms=_elapsed_ms(started),
            )
            return None, [self._timeout_warning()]
        _log.info(
            "llm planner answered",
            status=status,
            generator=self.generator,
            elapsed_ms=_elapsed_ms(started),
        )
        return answer, []

    def _payload(self, task: str, context: PlanContext) -> dict[str, Any]:
        return {
            "model": self._model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": system_message(context)},
                {"role": "user", "content": user_message(task)},
            ],
        }

    async def _post(self, payload: dict[str, Any]) -> tuple[int, bytes]:
        """Status and body (at most MAX_BODY_BYTES) of the call; _NoAnswerError if there is none."""
        headers = {"Accept": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            async with (
                httpx.AsyncClient(
                    timeout=httpx.Timeout(self._timeout_s), follow_redirects=False
                ) as client,
                client.stream("POST", self._endpoint, json=payload, headers=headers) as response,
            ):
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise _NoAnswerError("too_large", _TOO_LARGE, status=response.status_code)
                return response.status_code, bytes(body)
        except httpx.TimeoutException as exc:
            raise _NoAnswerError("timeout", self._timeout_warning()) from exc
        except httpx.ConnectError as exc:
            raise _NoAnswerError("connect", _UNREACHABLE) from exc
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
            # The message of these may quote the URL or a header: only the kind is kept.
            raise _NoAnswerError("transport", _BROKEN) from exc

    def _timeout_warning(self) -> str:
        return f"the LLM planner did not answer within {self._timeout_s:g} s"


def _answer(status: int, body: bytes) -> Any:
    """The JSON inside choices[0].message.content of a 2xx response; _NoAnswerError otherwise."""
    if not 200 <= status < 300:
        raise _NoAnswerError(
            "status", f"the LLM planner answered with HTTP status {status}", status=status
        )
    try:
        document = _loads(body)
    except ValueError as exc:
        raise _NoAnswerError("body_not_json", _BODY_NOT_JSON, status=status) from exc
    content = _content(document)
    if content is None:
        raise _NoAnswerError("no_content", _NO_CONTENT, status=status)
    if len(content) > MAX_CONTENT_CHARS:
        raise _NoAnswerError("too_large", _TOO_LARGE, status=status)
    try:
        return _loads(content)
    except ValueError as exc:
        raise _NoAnswerError("content_not_json", _CONTENT_NOT_JSON, status=status) from exc


def _content(document: Any) -> str | None:
    choices = document.get("choices") if isinstance(document, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def _loads(text: str | bytes) -> Any:
    """Strict JSON: no NaN or Infinity, nesting too deep is not JSON either (ValueError)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
