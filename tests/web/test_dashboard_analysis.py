"""The dashboard's analysis pages in a real browser: a batch (distributions, drops, ranking,
children), a comparison of runs and the latest benchmark, each plot checked against the data the
API returns."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.web.conftest import Site, Watched
from tests.web.test_dashboard import (
    allow_refusal,
    assert_accessible,
    count,
    dashboard,
    open_page,
    traces,
    wait_ready,
)

__all__ = ["dashboard"]  # the fixture, shared with test_dashboard
README_IMAGE = Path(__file__).parents[2] / "docs" / "images" / "dashboard-batch.png"


def metric_of(metrics: dict[str, Any], key: str) -> float:
    value: float = metrics[key] if key in metrics else metrics["task"][key]
    return value


def test_batch_page_draws_distributions_drops_and_ranking(
    watched: Watched, dashboard: Site
) -> None:
    batch_id = dashboard.batch["id"]
    with dashboard.api() as api:
        batch = api.get(f"/api/sim/batch/{batch_id}").json()
        evaluation = api.get(f"/api/sim/batch/{batch_id}/evaluate").json()
        listed = api.get("/api/runs", params={"batch_id": batch_id, "limit": 1000}).json()
    children = listed["items"]
    page = open_page(watched, dashboard, f"/dashboard/batches/{batch_id}")
    key = evaluation["ranking_metric"]
    profiles = batch["spec"]["profiles"]

    boxes = traces(page, "#plot-ranking")
    assert [b["name"] for b in boxes] == profiles
    for box in boxes:
        mine = [metric_of(r["metrics"], key) for r in children if r["profile"] == box["name"]]
        assert sorted(box["y"]) == sorted(mine)
    assert count(page, "#plot-ranking .boxlayer .trace") == len(profiles)
    assert count(page, "#plot-ranking .boxlayer path.point") == len(children)

    keys = [m["key"] for m in evaluation["metrics"]]
    panels = traces(page, "#plot-metrics")
    assert [p["name"] for p in panels] == keys
    for panel in panels:
        assert panel["x"] == [p["profile"] for p in batch["profiles"]]
        assert panel["y"] == [p["metrics"][panel["name"]]["mean"] for p in batch["profiles"]]
    assert count(page, "#plot-metrics .scatterlayer .trace") == len(keys)

    others = [p for p in evaluation["profiles"] if p["profile"] != evaluation["baseline_profile"]]
    (heatmap,) = traces(page, "#plot-drops")
    assert heatmap["y"] == [p["profile"] for p in others]
    assert heatmap["z"] == [[p["drops"][k]["drop_rel"] for k in keys] for p in others]
    ranking = page.locator("#ranking li").evaluate_all("l => l.map(e => e.dataset.profile)")
    assert ranking == evaluation["ranking"]
    assert count(page, "#batch-children tbody tr") == len(batch["children"])
    assert count(page, "#batch-gaps tbody tr") == len(evaluation["gap_widths"])
    assert_accessible(page)
    watched.screenshot("dashboard-batch")
    # The README's picture: made by this test, rewritten only when asked (its ids and times
    # change on every run) or when missing: QERS_UPDATE_README_IMAGES=1 make test.
    if os.environ.get("QERS_UPDATE_README_IMAGES") == "1" or not README_IMAGE.exists():
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_IMAGE), full_page=True)
    watched.assert_clean()


def test_compare_page_draws_the_drop_matrix(watched: Watched, dashboard: Site) -> None:
    runs = [r["id"] for r in dashboard.runs[:3]]
    with dashboard.api() as api:
        result = api.post("/api/sim/compare", json={"run_ids": runs, "metric_key": "energy_j"})
    page = open_page(watched, dashboard, "/dashboard/compare")
    assert_accessible(page)

    page.check(f'input[name=run][value="{runs[0]}"]')
    page.click("#compare-form button[type=submit]")  # one run: refused, shown at the picker
    wait_ready(page)
    assert page.inner_text("#compare-runs-error")
    allow_refusal(watched, 422)

    for run in runs[1:]:
        page.check(f'input[name=run][value="{run}"]')
    page.select_option("#compare-metric", "energy_j")
    page.click("#compare-form button[type=submit]")
    wait_ready(page)
    (heatmap,) = traces(page, "#plot-compare")
    expected = result.json()
    order = {r["run_id"]: i for i, r in enumerate(expected["runs"])}
    assert sorted(order) == sorted(runs)
    assert len(heatmap["z"]) == len(runs)
    assert all(len(row) == len(runs) for row in heatmap["z"])
    # The page sends the runs in its list order; the matrix follows that order.
    shown = page.locator("#compare-result table").first.locator("tbody tr td a").all_inner_texts()
    perm = [order[r] for r in shown]
    assert heatmap["z"] == [[expected["drop_rel"][i][j] for j in perm] for i in perm]
    assert page.inner_text("#compare-runs-error") == ""
    watched.screenshot("dashboard-compare")
    watched.assert_clean()


def test_benchmark_page_shows_the_latest_gaps(watched: Watched, dashboard: Site) -> None:
    report = dashboard.benchmark
    page = open_page(watched, dashboard, "/dashboard/benchmark")
    assert report["id"] in page.inner_text("#bench-summary")
    assert count(page, "#bench-profiles tbody tr") == len(report["profiles"])
    pairs = sum(len(p["scenarios"]) for p in report["profiles"])
    assert count(page, "#bench-scenarios tbody tr") == pairs
    bars = traces(page, "#plot-dyn")
    assert [b["name"] for b in bars] == [p["profile"] for p in report["profiles"]]
    for bar, profile in zip(bars, report["profiles"], strict=True):
        per_dimension = profile["G_dyn"]["per_dimension"]
        assert bar["x"] == list(per_dimension)
        assert bar["y"] == list(per_dimension.values())
    assert count(page, "#plot-dyn .barlayer .trace") == len(bars)
    assert_accessible(page)
    watched.screenshot("dashboard-benchmark")
    watched.assert_clean()
