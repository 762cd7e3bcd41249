"""The dashboard with auth on, in a real browser: a 401 opens the credential form, a key or a
token entered there is kept in session storage and sent as a header, a 403 names the missing
role, and the credential never reaches a URL, local storage or a cookie."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page, Request, expect
from pydantic import SecretStr

from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from handlers.settings import Settings
from tests.web.conftest import Watched, served
from tests.web.test_dashboard import (
    API_PREFIXES,
    READY_MS,
    allow_refusal,
    assert_accessible,
    row_ids,
    wait_ready,
)

STORAGE_KEY = "qers.credential"  # handlers/web/static/credentials.js
JWT_SECRET = "s" * 48  # HS256 needs at least 32 bytes
ISSUER = "https://id.example"
AUDIENCE = "qers"
RUN = {"scenario": "arm_reach", "options": {"steps": 30, "seed": 3}}


@dataclass
class Guarded:
    """A live server with auth on, a run behind it and the credentials that reach it."""

    url: str
    runs_dir: Path
    credentials: dict[str, str]  # role name -> API key or token
    run_ids: list[str]


def _create_run(url: str, headers: dict[str, str]) -> str:
    with httpx.Client(base_url=url, timeout=120, headers=headers) as api:
        answer = api.post("/v1/runs", json=RUN)
    assert answer.status_code == 201, answer.text
    run_id: str = answer.json()["id"]
    return run_id


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    """QERS_AUTH=api_key, with a viewer, a runner and a revoked key."""
    runs_dir = tmp_path_factory.mktemp("web-keys") / "runs"
    runs_dir.mkdir()
    store = KeyStore(runs_dir)
    keys = {role.label: store.create(role=role)[0].key for role in (Role.VIEWER, Role.RUNNER)}
    revoked, record = store.create(role=Role.ADMIN)
    store.revoke(record.id)
    keys["revoked"] = revoked.key
    with served(Settings(runs_dir=runs_dir, warm_spares=0, auth=("api_key",))) as url:
        run_id = _create_run(url, {"X-API-Key": keys["runner"]})
        yield Guarded(url, runs_dir, keys, [run_id])


def _token(role: str) -> str:
    now = int(time.time())
    claims = {"sub": f"web-{role}", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
              "exp": now + 3600, "qers_role": role}  # fmt: skip
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
def tokened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    """QERS_AUTH=jwt with a shared secret."""
    runs_dir = tmp_path_factory.mktemp("web-jwt") / "runs"
    settings = Settings(
        runs_dir=runs_dir, warm_spares=0, auth=("jwt",), jwt_secret=SecretStr(JWT_SECRET),
        jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
    )  # fmt: skip
    with served(settings) as url:
        run_id = _create_run(url, {"Authorization": f"Bearer {_token('runner')}"})
        yield Guarded(url, runs_dir, {"viewer": _token("viewer")}, [run_id])


def refused(watched: Watched, site: Guarded, path: str) -> Page:
    """Go to `path` and wait until its script has given up (the page shows why)."""
    page = watched.page
    page.goto(site.url + path)
    page.wait_for_selector('body[data-ready="error"]', timeout=READY_MS)
    return page


def enter(page: Page, value: str, *, reloads: bool = True) -> None:
    """Type a credential into the header's form and save it."""
    if not page.locator("details.auth").evaluate("d => d.open"):
        page.click(".auth summary")
    page.fill("#auth-value", value)
    if reloads:
        with page.expect_navigation():
            page.click("#auth-form button[type=submit]")
        wait_ready(page)
    else:
        page.click("#auth-form button[type=submit]")


def record_headers(page: Page) -> list[tuple[str, dict[str, str]]]:
    sent: list[tuple[str, dict[str, str]]] = []

    def keep(request: Request) -> None:
        sent.append((request.url, request.headers))

    page.on("request", keep)
    return sent


def api_calls(sent: list[tuple[str, dict[str, str]]]) -> list[tuple[str, dict[str, str]]]:
    return [(url, h) for url, h in sent if urlparse(url).path.startswith(API_PREFIXES)]


def assert_kept_only_in_session_storage(page: Page, secret: str, urls: list[str]) -> None:
    stored: Any = page.evaluate(f"JSON.parse(sessionStorage.getItem('{STORAGE_KEY}'))")
    assert stored["value"] == secret
    assert secret not in page.evaluate("JSON.stringify({...localStorage})")
    assert page.evaluate("document.cookie") == ""
    assert page.context.cookies() == []
    assert not [url for url in urls if secret in url]
    assert secret not in page.url


def test_runs_page_asks_for_a_key_then_lists_runs(watched: Watched, keyed: Guarded) -> None:
    page = refused(watched, keyed, "/dashboard/runs")
    problem = page.locator("#page-problem")
    expect(problem).to_contain_text("Unauthorized (401)")
    expect(problem).to_contain_text("this tab has none saved")
    assert page.locator("details.auth").evaluate("d => d.open")  # opened by the 401
    assert page.input_value("#auth-kind") == "api-key"  # the only kind the challenge offers
    assert_accessible(page)
    watched.screenshot("dashboard-auth-401")
    problem.get_by_role("button", name="Enter credentials").click()
    assert page.evaluate("document.activeElement.id") == "auth-value"

    sent = record_headers(page)
    key = keyed.credentials["viewer"]
    enter(page, key)
    expect(page.locator("#page-problem")).to_be_empty()
    expect(page.locator(".auth summary")).to_contain_text("API key")
    assert row_ids(page, "#runs-table") == keyed.run_ids
    calls = api_calls(sent)
    assert calls
    assert all(h.get("x-api-key") == key for _, h in calls), calls
    assert_kept_only_in_session_storage(page, key, watched.requests)
    allow_refusal(watched, 401)
    watched.assert_clean()


def test_viewer_key_on_a_creating_form_shows_the_missing_role(
    watched: Watched, keyed: Guarded
) -> None:
    page = refused(watched, keyed, "/dashboard/runs/new")
    enter(page, keyed.credentials["viewer"])  # reads suffice to build the form
    page.select_option("#field-scenario", "arm_reach")
    page.fill("#field-options-steps", "30")
    page.click("#create-form button[type=submit]")
    wait_ready(page)
    result = page.locator("#create-result")
    expect(result).to_contain_text("Forbidden (403)")
    expect(result).to_contain_text("needs the runner role")
    expect(result).to_contain_text("role does not allow this")
    watched.screenshot("dashboard-auth-403")

    # A runner key saved now keeps what was typed into the form; the next submit uses it.
    enter(page, keyed.credentials["runner"], reloads=False)
    expect(page.locator("#auth-status")).to_contain_text("input on this page is kept")
    assert page.input_value("#field-options-steps") == "30"
    page.click("#create-form button[type=submit]")
    wait_ready(page)
    run_id = page.locator("#create-result .created a").inner_text()
    headers = {"X-API-Key": keyed.credentials["viewer"]}
    with httpx.Client(base_url=keyed.url, headers=headers) as api:
        assert api.get(f"/v1/runs/{run_id}").json()["config"]["steps"] == 30
    assert_kept_only_in_session_storage(page, keyed.credentials["runner"], watched.requests)
    allow_refusal(watched, 401)
    allow_refusal(watched, 403)
    watched.assert_clean()


def test_a_refused_key_is_named_and_can_be_forgotten(watched: Watched, keyed: Guarded) -> None:
    page = refused(watched, keyed, "/dashboard/projects")
    page.fill("#auth-value", keyed.credentials["revoked"])
    with page.expect_navigation():
        page.press("#auth-value", "Enter")
    page.wait_for_selector('body[data-ready="error"]', timeout=READY_MS)
    expect(page.locator("#page-problem")).to_contain_text("refused the credentials saved")
    with page.expect_navigation():
        page.click("#auth-clear")
    page.wait_for_selector('body[data-ready="error"]', timeout=READY_MS)
    expect(page.locator("#page-problem")).to_contain_text("this tab has none saved")
    expect(page.locator(".auth summary")).to_have_text("Credentials: none")
    assert page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')") is None
    allow_refusal(watched, 401)
    watched.assert_clean()


def test_a_bearer_token_is_sent_as_authorization(watched: Watched, tokened: Guarded) -> None:
    page = refused(watched, tokened, "/dashboard/runs")
    assert page.input_value("#auth-kind") == "bearer"  # the only kind the challenge offers
    page.select_option("#auth-kind", "api-key")
    page.fill("#auth-value", tokened.credentials["viewer"])
    assert page.input_value("#auth-kind") == "bearer"  # a JWT's shape chooses the kind
    sent = record_headers(page)
    with page.expect_navigation():
        page.click("#auth-form button[type=submit]")
    wait_ready(page)
    expect(page.locator(".auth summary")).to_contain_text("bearer token")
    assert row_ids(page, "#runs-table") == tokened.run_ids
    token = tokened.credentials["viewer"]
    calls = api_calls(sent)
    assert calls
    assert all(h.get("authorization") == f"Bearer {token}" for _, h in calls), calls
    assert not any("x-api-key" in h for _, h in calls)
    assert_kept_only_in_session_storage(page, token, watched.requests)
    allow_refusal(watched, 401)
    watched.assert_clean()


def test_the_credential_form_never_submits_to_a_url(browser: Browser, keyed: Guarded) -> None:
    """Even before (or without) the page's script, Enter in the form sends nothing anywhere."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    try:
        page.goto(keyed.url + "/dashboard/runs")
        page.click(".auth summary")
        page.fill("#auth-value", keyed.credentials["viewer"])
        page.press("#auth-value", "Enter")
        page.click("#auth-form button[type=submit]")
        page.wait_for_timeout(300)
        assert page.url == keyed.url + "/dashboard/runs"
        assert not [url for url in urls if keyed.credentials["viewer"] in url], urls
    finally:
        context.close()
