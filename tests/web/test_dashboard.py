"""`/dashboard` in a real browser against the live server: the runs list, a run's page (its
plots drawn from the API's data, the replay download, the credential header) and cancelling a
running run. The helpers here serve the other `test_dashboard_*` modules too."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from handlers.http.security import content_security_policy
from tests.web.conftest import LOOPBACK, Site, Watched

READY_MS = 30_000
API_PREFIXES = ("/api/", "/v1/", "/openapi.json")
# Every control a person can operate must have a name a screen reader announces.
UNLABELLED_JS = """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
  .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
  .map(c => c.outerHTML.slice(0, 120))"""


@pytest.fixture(scope="session")
def dashboard(site: Site) -> Site:
    """The live site, once it is known to serve the dashboard."""
    with site.api() as api:
        answer = api.get("/dashboard/runs")
    assert answer.status_code == 200, "create_app must call handlers.web.api.install_dashboard(app)"
    return site


def open_page(watched: Watched, site: Site, path: str) -> Page:
    """Go to `path` and wait until its script says the data is rendered."""
    page = watched.page
    page.goto(site.url + path)
    return wait_ready(page)


def wait_ready(page: Page) -> Page:
    page.wait_for_selector('body[data-ready]:not([data-ready="0"])', timeout=READY_MS)
    state = page.evaluate("document.body.dataset.ready")
    assert state == "1", page.inner_text("#page-problem")
    return page


def traces(page: Page, selector: str) -> list[dict[str, Any]]:
    """The traces plotly drew into `selector` (its `data`)."""
    data: list[dict[str, Any]] = page.evaluate(
        "s => document.querySelector(s).data.map(t => ({name: t.name, x: t.x, y: t.y, z: t.z}))",
        selector,
    )
    return data


def count(page: Page, selector: str) -> int:
    return page.locator(selector).count()


def assert_accessible(page: Page) -> None:
    """lang, landmarks, labelled controls, header cells in every table."""
    assert page.evaluate("document.documentElement.lang") == "en"
    for landmark in ("header", "nav", "main"):
        assert count(page, landmark) >= 1, landmark
    assert page.evaluate(UNLABELLED_JS) == []
    assert page.evaluate("[...document.querySelectorAll('table')].every(t => t.tHead)")


def allow_refusal(watched: Watched, status: int) -> None:
    """Chromium logs every 4xx fetch as a console error; drop the one a test provoked."""
    expected = f"status of {status}"
    watched.errors = [e for e in watched.errors if expected not in e]


def row_ids(page: Page, container: str) -> list[str]:
    return page.locator(f"{container} tbody tr th a").all_inner_texts()


def test_the_dashboard_stays_out_of_the_contract(dashboard: Site) -> None:
    with dashboard.api() as api:
        paths = api.get("/openapi.json").json()["paths"]
        home = api.get("/dashboard", follow_redirects=False)
        plotly = api.get("/static/plotly/plotly.min.js")
    assert [p for p in paths if p.startswith(("/dashboard", "/static"))] == []
    assert home.status_code in (302, 307)
    assert home.headers["location"].endswith("/dashboard/runs")
    assert plotly.status_code == 200
    assert "javascript" in plotly.headers["content-type"]


def test_runs_page_lists_filters_and_pages(watched: Watched, dashboard: Site) -> None:
    page = open_page(watched, dashboard, "/dashboard/runs")
    with dashboard.api() as api:
        every = api.get("/api/runs", params={"limit": 50}).json()["items"]
        drop = api.get("/api/runs", params={"limit": 50, "scenario": "drop_test"}).json()["items"]
        first = api.get("/api/runs", params={"limit": 3}).json()
        second = api.get("/api/runs", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert row_ids(page, "#runs-table") == [r["id"] for r in every]
    assert count(page, "#runs-table .badge") == len(every)
    assert_accessible(page)
    watched.screenshot("dashboard-runs")

    page.select_option("#f-scenario", "drop_test")
    page.click("#filters button[type=submit]")
    wait_ready(page)
    assert "scenario=drop_test" in page.url
    assert "status=" not in page.url  # empty filters stay out of the address
    assert row_ids(page, "#runs-table") == [r["id"] for r in drop]
    assert 0 < len(drop) < len(every)

    open_page(watched, dashboard, "/dashboard/runs?limit=3")
    assert row_ids(page, "#runs-table") == [r["id"] for r in first["items"]]
    page.click("#pager a[rel=next]")
    wait_ready(page)
    assert row_ids(page, "#runs-table") == [r["id"] for r in second["items"]]
    watched.assert_clean()


@pytest.fixture
def narrow(browser: Browser) -> Iterator[Watched]:
    """A phone-sized page (390 x 844), recorded and fenced like `watched`."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.route(lambda url: urlparse(url).hostname not in LOOPBACK, lambda route: route.abort())
    yield Watched(context.new_page())
    context.close()


def test_runs_page_on_a_narrow_screen(narrow: Watched, dashboard: Site) -> None:
    page = open_page(narrow, dashboard, "/dashboard/runs")
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The table scrolls inside its own region instead of widening the page.
    table = page.locator(".table-wrap").first
    assert table.evaluate("e => e.scrollWidth > e.clientWidth")
    for link in page.locator("nav[aria-label=Main] a").all():
        box = link.bounding_box()
        assert box is not None
        assert 0 <= box["x"] <= box["x"] + box["width"] <= width, link
    page.keyboard.press("Tab")  # the skip link, then the brand, then the first nav link
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Runs"
    narrow.screenshot("dashboard-runs-narrow")
    page.locator("nav[aria-label=Main] a", has_text="Projects").click()
    wait_ready(page)
    assert page.url.endswith("/dashboard/projects")
    narrow.assert_clean()


def test_run_page_draws_the_runs_data_and_downloads_its_replay(
    watched: Watched, dashboard: Site
) -> None:
    run = dashboard.runs[0]
    path = f"/v1/runs/{run['id']}"
    with dashboard.api() as api:
        history = api.get(f"{path}/metrics", params={"history": True}).json()["history"]
        replay = api.get(f"{path}/replay").json()
        npz = api.get(f"{path}/replay", params={"format": "npz"}).content
    page = watched.page
    sent: list[tuple[str, dict[str, str]]] = []
    page.on("request", lambda r: sent.append((r.url, r.headers)))
    open_page(watched, dashboard, f"/dashboard/runs/{run['id']}")
    page.click(".auth summary")
    page.fill("#auth-value", "qers-test-key")
    sent.clear()
    with page.expect_navigation():
        page.click("#auth-form button[type=submit]")  # kept in session storage; the page reloads
    wait_ready(page)
    expect(page.locator(".auth summary")).to_contain_text("API key")

    series = history["series"]
    drawn = traces(page, "#plot-history")
    assert [t["name"] for t in drawn] == list(series)
    assert [t["y"] for t in drawn] == list(series.values())
    assert all(t["x"] == history["step"] for t in drawn)
    assert count(page, "#plot-history .scatterlayer .trace") == len(series)
    base = traces(page, "#plot-base")
    positions = replay["columns"]["base_position"]
    assert [t["y"] for t in base] == [[p[axis] for p in positions] for axis in range(3)]
    joints = traces(page, "#plot-joints")
    assert [t["name"] for t in joints] == replay["manifest"]["joint_names"]
    assert all(len(t["y"]) == replay["rows"] for t in joints)
    assert count(page, "#plot-joints .scatterlayer .trace") == len(joints)
    assert count(page, "#run-metrics tbody tr") >= 6 + len(run["metrics"]["task"])
    assert_accessible(page)

    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == f"{run['id']}-replay.npz"
    assert download.value.path().read_bytes() == npz

    api_calls = [(u, h) for u, h in sent if urlparse(u).path.startswith(API_PREFIXES)]
    assert api_calls, sent
    assert all(h.get("x-api-key") == "qers-test-key" for _, h in api_calls), api_calls
    assert not any("qers-test-key" in url for url, _ in sent)
    watched.screenshot("dashboard-run")
    watched.assert_clean()


def test_cancel_button_cancels_a_running_run(watched: Watched, dashboard: Site) -> None:
    options = {"steps": 200_000, "seed": 5, "tags": ["cancel-me"]}
    body = {"scenario": "arm_reach", "options": options}
    answers: list[httpx.Response] = []

    def create() -> None:  # the embedded mode answers only when the run ends
        with dashboard.api() as api:
            answers.append(api.post("/v1/runs", json=body))

    creator = threading.Thread(target=create, daemon=True)
    creator.start()
    run_id = None
    with dashboard.api() as api:
        deadline = time.monotonic() + 60
        while run_id is None:
            assert time.monotonic() < deadline, "the long run never showed as RUNNING"
            listed = api.get("/api/runs", params={"status": "RUNNING", "limit": 10}).json()
            run_id = next((r["id"] for r in listed["items"] if "cancel-me" in r["tags"]), None)
            time.sleep(0.1)
        # The runs list follows its progress, and links to its page.
        page = open_page(watched, dashboard, "/dashboard/runs?status=RUNNING")
        bar = page.locator(f'.run-progress[data-run-id="{run_id}"] progress')
        start = float(bar.get_attribute("value") or 0)
        page.wait_for_function(
            "([bar, start]) => Number(document.querySelector(bar).value) > start",
            arg=[f'.run-progress[data-run-id="{run_id}"] progress', start],
            timeout=10_000,
        )
        page.click(f"#runs-table a:text-is('{run_id}')")
        wait_ready(page)
        expect(page.locator("#status-badge")).to_have_text("RUNNING")
        page.click("#cancel")
        expect(page.locator("#status-badge")).to_have_text("CANCELLED", timeout=15_000)
        wait_ready(page)
        assert api.get(f"/v1/runs/{run_id}").json()["status"] == "CANCELLED"
    creator.join(timeout=30)
    assert len(answers) == 1
    assert answers[0].json()["status"] == "CANCELLED"
    assert count(page, "#cancel") == 0
    watched.screenshot("dashboard-run-cancelled")
    watched.assert_clean()


def test_pages_work_under_the_served_content_security_policy(
    watched: Watched, dashboard: Site
) -> None:
    """No inline script, no eval: a violation would be a console error or a page never ready."""
    for path in (
        f"/dashboard/batches/{dashboard.batch['id']}",
        f"/dashboard/assets/{dashboard.asset['id']}",
        f"/dashboard/plans/{dashboard.plan['id']}",
    ):
        response = watched.page.goto(dashboard.url + path)
        assert response is not None
        assert response.headers["content-security-policy"] == content_security_policy()
        wait_ready(watched.page)
    watched.assert_clean()
