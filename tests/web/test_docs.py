"""`/docs` (Swagger UI) and `/redoc` in a real browser against the live server: every
operation of the published document rendered, "Try it out" answered by this server, and
nothing fetched from anywhere else."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import ARTIFACTS, Site, Watched

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Swagger UI and ReDoc render a large document in a few seconds; a slow machine gets slack.
RENDER_MS = 30_000
EXECUTE_MS = 60_000
ABSOLUTE_URL = re.compile(r"""https?://[^\s"'<>)]+""")
PLAN = {
    "task": "Does the arm reach on a slippery floor?",
    "scenario": "arm_reach",
    "budget": {"max_runs": 4, "max_steps_total": 1000},
}


def operations(items: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of a `paths` or `webhooks` object (every path and method)."""
    return [op for item in items.values() for method, op in item.items() if method in METHODS]


def blocks(ops: list[dict[str, Any]]) -> list[str]:
    """The DOM id of each operation's block, once per tag as both renderers show it."""
    return [f"{op['operationId']}@{tag}" for op in ops for tag in op.get("tags") or ["default"]]


@pytest.fixture(scope="module")
def published(site: Site) -> dict[str, Any]:
    with site.api() as api:
        answer = api.get("/openapi.json")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


@pytest.fixture(scope="module")
def path_ops(published: dict[str, Any]) -> list[dict[str, Any]]:
    return operations(published["paths"])


@pytest.fixture(scope="module")
def webhook_ops(published: dict[str, Any]) -> list[dict[str, Any]]:
    return operations(published.get("webhooks", {}))


def open_swagger(watched: Watched, site: Site, expected_blocks: int) -> Page:
    page = watched.page
    page.goto(f"{site.url}/docs")
    expect(page.locator("#swagger-ui .opblock")).to_have_count(expected_blocks, timeout=RENDER_MS)
    return page


def try_it_out(page: Page, *, tag: str, operation_id: str, body: str | None = None) -> Locator:
    """Expand an operation, click "Try it out" (optionally set the body), "Execute"; return
    the live response row."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    block.locator(".opblock-summary-control").click()
    block.locator("button.try-out__btn").click()
    if body is not None:
        block.locator("textarea.body-param__text").fill(body)
    block.locator("button.execute").click()
    response = block.locator(".live-responses-table tr.response")
    expect(response).to_have_count(1, timeout=EXECUTE_MS)
    return response


def test_swagger_ui_renders_every_operation(
    site: Site,
    watched: Watched,
    published: dict[str, Any],
    path_ops: list[dict[str, Any]],
    webhook_ops: list[dict[str, Any]],
) -> None:
    expected = blocks(path_ops) + blocks(webhook_ops)
    page = open_swagger(watched, site, len(expected))

    ids = page.locator("#swagger-ui .opblock").evaluate_all("els => els.map(e => e.id)")
    rendered = sorted(re.sub(r"^operations-(.+?)-(\w+)$", r"\2@\1", i) for i in ids)
    assert rendered == sorted(expected)
    expect(page.locator("#swagger-ui .webhooks .opblock")).to_have_count(len(webhook_ops))
    tags = page.locator("#swagger-ui .opblock-tag").evaluate_all(
        "els => els.map(e => e.dataset.tag)"
    )
    assert sorted(tags) == sorted(tag["name"] for tag in published["tags"])
    watched.screenshot("docs-swagger-ui")
    watched.assert_clean()


def test_swagger_ui_try_it_out_get_health(
    site: Site, watched: Watched, path_ops: list[dict[str, Any]], webhook_ops: list[dict[str, Any]]
) -> None:
    page = open_swagger(watched, site, len(blocks(path_ops) + blocks(webhook_ops)))

    response = try_it_out(page, tag="health", operation_id="getHealth")

    expect(response.locator(".response-col_status")).to_have_text("200")
    body = response.locator(".response-col_description .highlight-code pre").inner_text()
    assert '"status"' in body
    assert json.loads(body)["status"] in ("ok", "degraded")
    url = page.locator("#operations-health-getHealth .request-url pre").inner_text()
    assert url == f"{site.url}/v1/health"
    watched.screenshot("docs-swagger-ui-try-health")
    watched.assert_clean()


def test_swagger_ui_try_it_out_post_plan(
    site: Site, watched: Watched, path_ops: list[dict[str, Any]], webhook_ops: list[dict[str, Any]]
) -> None:
    page = open_swagger(watched, site, len(blocks(path_ops) + blocks(webhook_ops)))

    # Swagger UI's generated example sets both `asset_id` and `urdf_path` (mutually
    # exclusive), so the body is written as a person would.
    response = try_it_out(page, tag="ai", operation_id="createPlan", body=json.dumps(PLAN))

    expect(response.locator(".response-col_status")).to_have_text("201")
    plan = json.loads(
        response.locator(".response-col_description .highlight-code pre").inner_text()
    )
    assert plan["task"] == PLAN["task"]
    with site.api() as api:  # the plan is on the server, not only in the page
        assert api.get(f"/api/ai/plans/{plan['id']}").status_code == 200
    watched.assert_clean()


def test_redoc_renders_every_operation(
    site: Site,
    watched: Watched,
    path_ops: list[dict[str, Any]],
    webhook_ops: list[dict[str, Any]],
) -> None:
    ops = path_ops + webhook_ops
    page = watched.page
    page.goto(f"{site.url}/redoc")
    menu = page.locator("li[data-item-id*='/operation/']")
    expect(menu).to_have_count(len(blocks(ops)), timeout=RENDER_MS)

    entries = dict(menu.evaluate_all("els => els.map(e => [e.dataset.itemId, e.innerText])"))
    headings = dict(
        page.locator("[id*='/operation/']:has(h2)").evaluate_all(
            "els => els.map(e => [e.id, e.querySelector('h2').innerText])"
        )
    )
    for op in ops:
        for tag in op.get("tags") or ["default"]:
            item = f"tag/{tag}/operation/{op['operationId']}"
            assert op["summary"] in entries.get(item, ""), (item, entries.get(item))
            assert op["summary"] in headings.get(item, ""), (item, headings.get(item))
    # The viewport only: a full-page shot of the ~55,000 px page takes ~8 s and shows little more.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "docs-redoc.png")
    watched.assert_clean()


def test_favicon_is_served(site: Site) -> None:
    with site.api() as api:
        answer = api.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_doc_pages_reference_only_this_server(site: Site, path: str) -> None:
    with site.api() as api:
        answer = api.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    foreign = [url for url in ABSOLUTE_URL.findall(answer.text) if not url.startswith(site.url)]
    assert foreign == []
    for asset in re.findall(r"""(?:src|href)=["']([^"']+)["']""", answer.text):
        assert asset.startswith("/"), asset  # served here, whatever host the page is read on
        with site.api() as api:
            assert api.get(asset).status_code == 200, asset


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/dashboard", "/favicon.ico"])
def test_pages_are_outside_the_contract(site: Site, published: dict[str, Any], path: str) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=True) as client:
        assert client.get(path).status_code == 200  # served, yet not published
    assert not [p for p in published["paths"] if p == path or p.startswith(f"{path}/")]
