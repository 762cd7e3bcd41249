"""Cross-profile evaluation of episode metrics: per-profile statistics, drops against a
baseline, gap widths, rankings and pairwise drop matrices. Pure functions on plain dicts;
the formulas are in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simengine.stats import average, describe, drop, spread
from simengine.types import JSONDict

# The engine metrics of a RunMetricsSummary; task metrics sit in its `task` object.
ENGINE_KEYS = (
    "steps",
    "sim_time_s",
    "wall_time_s",
    "avg_step_time_ms",
    "p95_step_time_ms",
    "realtime_factor",
)
EpisodeValues = Mapping[str, Sequence[float]]  # metric key -> one value per episode


def flatten(summary: Mapping[str, object]) -> dict[str, float]:
    """Every metric of a RunMetricsSummary (or RunMetrics) by key: engine keys, then task."""
    values = {key: float(summary[key]) for key in ENGINE_KEYS if key in summary}  # type: ignore[arg-type]
    task = summary.get("task") or {}
    assert isinstance(task, Mapping)
    values.update({key: float(value) for key, value in task.items()})
    return values


def collect(episodes: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """Per-key value lists from flattened episodes (keys every episode has, sorted)."""
    if not episodes:
        return {}
    keys = sorted(set.intersection(*(set(e) for e in episodes)))
    return {key: [e[key] for e in episodes] for key in keys}


def profile_stats(values: EpisodeValues) -> dict[str, JSONDict]:
    """MetricStats of every metric over a profile's successful episodes."""
    return {key: describe(list(v)) for key, v in values.items() if v}


def evaluate(
    *,
    profiles: Sequence[str],
    baseline: str,
    episodes: Mapping[str, EpisodeValues],
    directions: Mapping[str, str],
    ranking_metric: str,
) -> JSONDict:
    """Drops of every profile against `baseline`, gap widths and the ranking.

    Args:
        profiles: Profiles in batch order (including the baseline).
        baseline: The baseline profile; must have at least one successful episode.
        episodes: Per profile, the values of every metric over its successful episodes.
        directions: MetricDirection of every metric key (absent: neutral).
        ranking_metric: The metric profiles are ranked by (largest drop first).

    Returns:
        {"profiles": [ProfileEvaluation], "ranking": [name], "gap_widths": {key: GapWidth}}.
    """
    means = {
        name: {k: average(v) for k, v in episodes.get(name, {}).items() if v} for name in profiles
    }
    base = means[baseline]
    evaluations: list[JSONDict] = []
    for name in profiles:
        values = episodes.get(name, {})
        drops = {}
        for key in sorted(set(base) & set(means[name])):
            direction = directions.get(key, "neutral")
            drop_abs, drop_rel = drop(direction, base[key], means[name][key])
            drops[key] = {
                "direction": direction,
                "baseline_mean": base[key],
                "profile_mean": means[name][key],
                "drop_abs": drop_abs,
                "drop_rel": drop_rel,
            }
        evaluations.append(
            {
                "profile": name,
                "rank": None,
                "episodes_used": max((len(v) for v in values.values()), default=0),
                "drops": drops,
                "episode_spread": {key: spread(list(v)) for key, v in sorted(values.items()) if v},
            }
        )
    ranking = rank(evaluations, baseline=baseline, metric=ranking_metric)
    for evaluation in evaluations:
        name = evaluation["profile"]
        evaluation["rank"] = ranking.index(name) + 1 if name in ranking else None
    return {
        "profiles": evaluations,
        "ranking": ranking,
        "gap_widths": gap_widths(episodes, means),
    }


def rank(evaluations: Sequence[JSONDict], *, baseline: str, metric: str) -> list[str]:
    """Non-baseline profiles by drop of `metric`, largest first (ties: batch order);
    profiles without a value of it (no successful episode) come last, in batch order."""
    others = [e for e in evaluations if e["profile"] != baseline]
    known = [e for e in others if metric in e["drops"]]
    unknown = [e["profile"] for e in others if metric not in e["drops"]]
    order = sorted(range(len(known)), key=lambda i: (-known[i]["drops"][metric]["drop_abs"], i))
    return [known[i]["profile"] for i in order] + unknown


def gap_widths(
    episodes: Mapping[str, EpisodeValues], means: Mapping[str, Mapping[str, float]]
) -> dict[str, JSONDict]:
    """Per metric: the largest within-profile spread and the spread of the profile means."""
    keys = sorted({key for values in episodes.values() for key, v in values.items() if v})
    widths = {}
    for key in keys:
        within = [spread(list(v[key])) for v in episodes.values() if v.get(key)]
        profile_means = [m[key] for m in means.values() if key in m]
        widths[key] = {"across_episodes": max(within), "across_profiles": spread(profile_means)}
    return widths


def pairwise(
    values: Sequence[float], direction: str
) -> tuple[list[list[float]], list[list[float | None]]]:
    """Drop matrices: entry [i][j] is how much worse value j is than value i (abs, rel)."""
    absolute: list[list[float]] = []
    relative: list[list[float | None]] = []
    for vi in values:
        row = [drop(direction, vi, vj) for vj in values]
        absolute.append([a for a, _ in row])
        relative.append([r for _, r in row])
    return absolute, relative
