"""The dashboard's forms and review pages in a real browser: starting a run and a batch from
forms built from the contract, a plan's steps submitted one click at a time, and the projects
and assets lists with an asset's preview."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, Watched
from tests.web.test_dashboard import (
    allow_refusal,
    assert_accessible,
    count,
    dashboard,
    open_page,
    wait_ready,
)

__all__ = ["dashboard"]  # the fixture, shared with test_dashboard


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def option_values(page: Page, select: str) -> list[str]:
    values: list[str] = page.locator(f"{select} option").evaluate_all("os => os.map(o => o.value)")
    return values


def test_run_form_is_built_from_the_contract_and_starts_a_run(
    watched: Watched, dashboard: Site
) -> None:
    with dashboard.api() as api:
        document = api.get("/openapi.json").json()
        scenarios = [s["name"] for s in api.get("/v1/scenarios").json()["items"]]
        profiles = [p["name"] for p in api.get("/api/reality-profiles").json()["items"]]
    page = open_page(watched, dashboard, "/dashboard/runs/new")
    assert_accessible(page)
    options = schema(document, "RunOptions")["properties"]
    for name in options:
        assert count(page, f'[data-pointer="/options/{name}"]') == 1, name
    for name in schema(document, "RunConfig")["properties"]:
        assert count(page, f'[data-pointer="/config/{name}"]') == 1, name
    assert option_values(page, "#field-scenario") == ["", *scenarios]
    assert option_values(page, "#field-options-profile") == ["", *profiles]
    steps = page.locator("#field-options-steps")
    assert steps.get_attribute("type") == "number"
    assert steps.get_attribute("min") == "1"
    assert float(steps.get_attribute("max") or 0) == options["steps"]["maximum"]
    assert page.locator("#field-options-record_replay").is_checked()
    assert options["steps"]["description"] in page.inner_text('[data-pointer="/options/steps"]')

    page.select_option("#field-scenario", "arm_reach")
    page.fill("#field-config-params-n_targets", "2")  # the scenario's own parameters appear
    page.fill("#field-options-steps", "60")
    page.fill("#field-options-seed", "7")
    page.select_option("#field-options-profile", "slippery_warehouse")
    page.click("#create-form button[type=submit]")
    wait_ready(page)
    link = page.locator("#create-result .created a")
    run_id = link.inner_text()
    with dashboard.api() as api:
        run = api.get(f"/v1/runs/{run_id}").json()
    assert (run["scenario"], run["profile"]) == ("arm_reach", "slippery_warehouse")
    assert run["config"]["steps"] == 60
    assert run["config"]["params"] == {"n_targets": 2}
    link.click()
    wait_ready(page)
    expect(page.locator("h1")).to_have_text(f"Run {run_id}")
    watched.assert_clean()


def test_batch_form_shows_the_problems_errors_at_their_fields(
    watched: Watched, dashboard: Site
) -> None:
    page = open_page(watched, dashboard, "/dashboard/batches/new")
    page.select_option("#field-scenario", "arm_reach")
    page.check('input[name="/profiles"][value=slippery_warehouse]')
    page.fill("#field-steps", "30")
    page.click("#create-form button[type=submit]")  # baseline "default" is not among the profiles
    wait_ready(page)
    error = page.locator("#field-baseline_profile-error")
    expect(error).to_contain_text("must be one of the batch's profiles")
    assert page.locator("#field-baseline_profile").get_attribute("aria-invalid") == "true"
    allow_refusal(watched, 422)
    watched.screenshot("dashboard-batch-form-error")

    page.check('input[name="/profiles"][value=default]')
    page.click("#create-form button[type=submit]")
    wait_ready(page)
    expect(error).to_have_text("")
    batch_id = page.locator("#create-result .created a").inner_text()
    with dashboard.api() as api:
        batch = api.get(f"/api/sim/batch/{batch_id}").json()
    assert batch["spec"]["profiles"] == ["default", "slippery_warehouse"]
    watched.assert_clean()


def test_plan_page_submits_one_step_on_click(watched: Watched, dashboard: Site) -> None:
    plan = dashboard.plan
    with dashboard.api() as api:
        before = len(api.get("/api/runs", params={"limit": 1000}).json()["items"])
    page = open_page(watched, dashboard, "/dashboard/plans")
    page.fill("#plan-id", plan["id"])
    page.click("main button[type=submit]")
    wait_ready(page)
    assert page.url.endswith(f"/dashboard/plans/{plan['id']}")
    assert_accessible(page)
    waiting = {
        s["id"]: sorted({*s["depends_on"], *(b["step"] for b in s["bindings"])})
        for s in plan["steps"]
    }
    for step_id, needs in waiting.items():
        button = page.locator(f"#submit-{step_id}")
        if needs:
            expect(button).to_be_disabled()
            for need in needs:
                expect(page.locator(f"#reason-{step_id}")).to_contain_text(need)
        else:
            expect(button).to_be_enabled()
    with dashboard.api() as api:  # nothing ran on opening the page
        assert len(api.get("/api/runs", params={"limit": 1000}).json()["items"]) == before

    first = next(s for s in plan["steps"] if not waiting[s["id"]] and s["operation"] == "createRun")
    page.click(f"#submit-{first['id']}")
    wait_ready(page)
    result = page.locator(f"#result-{first['id']}")
    expect(result).to_contain_text("SUCCEEDED")
    run_id = result.locator("a").inner_text().removeprefix("Open run ")
    assert count(page, f"#result-{first['id']} .checks .badge") == len(first["checks"])
    expect(page.locator(f"#submit-{first['id']}")).to_be_disabled()
    with dashboard.api() as api:
        after = api.get("/api/runs", params={"limit": 1000}).json()["items"]
        run = api.get(f"/v1/runs/{run_id}").json()
    assert len(after) == before + 1  # exactly one step was sent
    assert run["config"]["steps"] == first["request"]["options"]["steps"]
    for step_id, needs in waiting.items():  # a step needing only that one is now available
        if needs == [first["id"]]:
            expect(page.locator(f"#submit-{step_id}")).to_be_enabled()
    watched.screenshot("dashboard-plan")
    watched.assert_clean()


def test_projects_assets_and_an_assets_preview(watched: Watched, dashboard: Site) -> None:
    page = open_page(watched, dashboard, "/dashboard/projects")
    expect(page.locator("#projects-table")).to_contain_text(dashboard.project["name"])
    assert_accessible(page)
    page.locator("#projects-table a", has_text="Runs").first.click()
    wait_ready(page)
    assert f"project_id={dashboard.project['id']}" in page.url
    assert count(page, "#runs-table tbody tr") == len(dashboard.runs)

    asset = dashboard.asset
    page = open_page(watched, dashboard, "/dashboard/assets")
    page.locator("#assets-table a", has_text=asset["name"]).click()
    wait_ready(page)
    image = page.locator("#asset-preview img")
    assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    assert (image.get_attribute("src") or "").startswith("blob:")
    stats = page.inner_text("#asset-stats")
    assert f"Degrees of freedom\t{asset['stats']['dof']}" in stats
    assert_accessible(page)
    watched.screenshot("dashboard-asset")
    watched.assert_clean()
