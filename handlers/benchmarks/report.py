"""The BenchmarkReport of a gap-benchmark suite, assembled from its runs and replays.

Pure assembly: `episodes` holds each run's success and score, `replays` each open-loop
replay result (`simengine.openloop.gap_spec`); formulas in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simengine import gaps
from simengine.stats import average, pearson

# (scenario, profile) -> one {"run_id", "success", "score"} per episode.
Episodes = Mapping[tuple[str, str], Sequence[Mapping[str, Any]]]
# (scenario, episode) -> gap_spec output.
Replays = Mapping[tuple[str, int], Mapping[str, Any]]


def performance(
    pairs: Sequence[tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]],
) -> dict[str, Any]:
    """GapPerformance pooled over (baseline episodes, pseudo-reality episodes) pairs, one
    pair per scenario; the score correlation is over the pairs' mean scores."""
    base = [e for b, _ in pairs for e in b]
    pseudo = [e for _, p in pairs for e in p]
    base_rate = average([e["success"] for e in base])
    pseudo_rate = average([e["success"] for e in pseudo])
    base_score = average([e["score"] for e in base])
    pseudo_score = average([e["score"] for e in pseudo])
    rate_drop = base_rate - pseudo_rate
    score_drop = base_score - pseudo_score
    correlation = pearson(
        [average([e["score"] for e in b]) for b, _ in pairs],
        [average([e["score"] for e in p]) for _, p in pairs],
    )
    return {
        "baseline_success_rate": base_rate,
        "pseudo_reality_success_rate": pseudo_rate,
        "success_rate_drop_abs": rate_drop,
        "success_rate_drop_rel": rate_drop / base_rate if base_rate else None,
        "baseline_score_mean": base_score,
        "pseudo_reality_score_mean": pseudo_score,
        "score_drop_abs": score_drop,
        "score_drop_rel": score_drop / abs(base_score) if base_score else None,
        "score_correlation": correlation,
    }


def scenario_result(
    suite: Mapping[str, Any], scenario: str, profile: str, episodes: Episodes, replays: Replays
) -> dict[str, Any]:
    """BenchmarkScenarioResult of one scenario under one pseudo-reality profile."""
    base = episodes[(scenario, suite["baseline_profile"])]
    pseudo = episodes[(scenario, profile)]
    per_episode = [replays[(scenario, e)]["profiles"][profile] for e in range(suite["episodes"])]
    return {
        "scenario": scenario,
        "episodes": suite["episodes"],
        "baseline_success_rate": average([e["success"] for e in base]),
        "pseudo_reality_success_rate": average([e["success"] for e in pseudo]),
        "baseline_score_mean": average([e["score"] for e in base]),
        "pseudo_reality_score_mean": average([e["score"] for e in pseudo]),
        "G_dyn": gaps.mean_dynamics([r["G_dyn"] for r in per_episode]),
        "G_perc": gaps.mean_perception([r["G_perc"] for r in per_episode]),
        "run_ids": [e["run_id"] for e in base] + [e["run_id"] for e in pseudo],
    }


def profile_result(
    suite: Mapping[str, Any], profile: str, episodes: Episodes, replays: Replays
) -> dict[str, Any]:
    """BenchmarkProfileResult: the profile's scenarios and their aggregates."""
    scenarios = [
        scenario_result(suite, name, profile, episodes, replays) for name in suite["scenarios"]
    ]
    pairs = [
        (episodes[(name, suite["baseline_profile"])], episodes[(name, profile)])
        for name in suite["scenarios"]
    ]
    return {
        "profile": profile,
        "G_dyn": gaps.mean_dynamics([s["G_dyn"] for s in scenarios], prefixes=suite["scenarios"]),
        "G_perc": gaps.mean_perception([s["G_perc"] for s in scenarios]),
        "G_perf": performance(pairs),
        "scenarios": scenarios,
    }


def numbers(suite: Mapping[str, Any], episodes: Episodes, replays: Replays) -> dict[str, Any]:
    """The report's figures: G_dyn, G_perc, G_perf (over profiles) and per profile."""
    profiles = [profile_result(suite, name, episodes, replays) for name in suite["profiles"]]
    pairs = [
        (episodes[(scenario, suite["baseline_profile"])], episodes[(scenario, name)])
        for name in suite["profiles"]
        for scenario in suite["scenarios"]
    ]
    return {
        "G_dyn": gaps.mean_dynamics([p["G_dyn"] for p in profiles]),
        "G_perc": gaps.mean_perception([p["G_perc"] for p in profiles]),
        "G_perf": performance(pairs),
        "profiles": profiles,
    }
