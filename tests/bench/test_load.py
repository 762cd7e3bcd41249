"""`bench.load` at toy size against real servers: the report's shape, no timing asserted."""

from __future__ import annotations

import re

import pytest

from bench.__main__ import BENCHES
from bench.load import measure, print_report
from bench.loadmix import MIX
from bench.report import LINE as RESULT_LINE

pytestmark = pytest.mark.slow


def test_a_small_load_run_reports_every_figure_and_no_server_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = measure(clients=10, seconds=2, rounds=1, requests=15)
    load, overhead = report.load, report.overhead

    assert load.clients == 10
    assert load.requests > 0
    assert load.requests == sum(load.statuses.values()) == sum(load.by_class.values())
    assert set(load.by_class) == {"2xx", "3xx", "4xx", "5xx"}
    assert set(load.operations) == {op.name for op in MIX}
    assert sum(stats.requests for stats in load.operations.values()) == load.requests
    assert load.p50_ms <= load.p99_ms
    assert (load.other_5xx, load.transport_errors, load.auth_refusals) == (0, 0, 0)
    assert load.by_class["2xx"] > 0
    assert load.passed
    assert len(overhead.on_ms) == len(overhead.off_ms) == 1

    print_report(report, clients=10, seconds=2)
    out = capsys.readouterr().out
    results = RESULT_LINE.findall(out)
    assert len(results) == 2, out
    assert results[0].startswith("load 10x2s auth on: 0 non-503 5xx, 0 transport errors")
    assert results[0].endswith("PASS")
    assert re.match(r"auth overhead per request: [+-]\d+\.\d\d ms, ratio \d+\.\d\d ", results[1])


def test_make_bench_runs_the_load_bench() -> None:
    assert "bench.load" in BENCHES
