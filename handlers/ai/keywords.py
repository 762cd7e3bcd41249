"""Which scenarios and reality profiles a task's words name, for the rules planner.

Words are lowercase runs of letters and digits, so `sim-to-real`, `sim to real` and
`Sim_To_Real` read alike; a keyword is a word or a phrase of words, listed with its
inflections (no stemming: `stand` must not match `standard`). A literal scenario or profile
name (`arm_reach`, `slippery warehouse`, `pseudo-reality A`) names exactly that one, and its
words are not read again as keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PSEUDO_REALITY_PREFIX = "pseudo_reality"

SCENARIO_KEYWORDS: dict[str, tuple[str, ...]] = {
    "arm_reach": (
        "reach", "reaches", "reached", "reaching", "target", "targets", "arm", "arms",
        "grasp", "grasps", "grasped", "grasping", "grip", "gripping", "gripper", "grippers",
        "manipulator", "manipulators", "manipulation", "kuka", "iiwa", "end effector",
    ),
    "push_slide": (
        "push", "pushes", "pushed", "pushing", "slide", "slides", "sliding", "slid",
        "object", "objects", "box", "boxes", "cube", "cubes",
    ),
    "drop_test": (
        "drop", "drops", "dropped", "dropping", "fall", "falls", "falling", "fell",
        "bounce", "bounces", "bounced", "bouncing", "impact", "impacts", "rebound", "rebounds",
    ),
    "quadruped_stand": (
        "stand", "stands", "standing", "quadruped", "quadrupeds", "legged", "leg", "legs",
        "balance", "balances", "balancing", "unitree",
    ),
    "urdf_rollout": (
        "urdf", "urdfs", "rollout", "rollouts", "sweep", "sweeps", "sweeping",
        "joint tracking",
    ),
}  # fmt: skip

PROFILE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "slippery_warehouse": (
        "slippery", "slip", "slips", "slipping", "slipped", "slick", "icy", "ice", "wet",
        "polished", "low friction",
    ),
    "worn_actuators": (
        "worn", "wear", "wears", "old", "older", "aged", "ageing", "aging", "degraded",
        "degradation", "weak", "weaker", "weakened", "tired",
    ),
    "heavy_payload": (
        "heavy", "heavier", "payload", "payloads", "load", "loads", "loaded", "carry",
        "carries", "carrying",
    ),
    "low_gravity_moon": ("moon", "lunar", "low gravity"),
}  # fmt: skip
# Every profile named pseudo_reality_* stands for "the real world".
PSEUDO_REALITY_KEYWORDS: tuple[str, ...] = (
    "sim to real", "sim2real", "real world", "reality", "robust", "robustness",
    "transfer", "gap", "gaps",
)  # fmt: skip

# A keyword is not read as one next to these words: "the score drops", "a drop in
# success", "the impact of wear", "load the URDF".
_METRIC_WORDS = frozenset(
    {"score", "scores", "success", "performance", "metric", "metrics", "accuracy", "reward"}
)
_LOAD_OBJECTS = frozenset(
    {"the", "a", "an", "my", "our", "this", "that", "it", "urdf", "model", "robot", "asset"}
)
_NOT_AFTER: dict[str, frozenset[str]] = {
    "drop": _METRIC_WORDS,
    "drops": _METRIC_WORDS,
    "fall": _METRIC_WORDS,
    "falls": _METRIC_WORDS,
}
_NOT_BEFORE: dict[str, frozenset[str]] = {
    "drop": frozenset({"in", "of"}),
    "drops": frozenset({"in", "of"}),
    "impact": frozenset({"of", "on"}),
    "impacts": frozenset({"of", "on"}),
    "load": _LOAD_OBJECTS,
}
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Match:
    """`name` is named by `keyword`, first at word `position` of the task."""

    name: str
    keyword: str
    position: int


def words(text: str) -> list[str]:
    """The lowercase words of `text`."""
    return _WORD.findall(text.lower())


def named_scenarios(task: str, known: Iterable[str]) -> list[Match]:
    """The `known` scenarios the task names, in order of first mention."""
    names = sorted(known)
    table = {name: SCENARIO_KEYWORDS.get(name, ()) for name in names}
    return _matches(words(task), names, table)


def named_profiles(task: str, known: Iterable[str]) -> list[Match]:
    """The `known` profiles the task names, in order of first mention (ties by name)."""
    names = sorted(known)
    table = {name: PROFILE_KEYWORDS.get(name, ()) for name in names}
    for name in pseudo_reality(names):
        table[name] = (*table[name], *PSEUDO_REALITY_KEYWORDS)
    return _matches(words(task), names, table)


def pseudo_reality(names: Iterable[str]) -> list[str]:
    """The pseudo-reality profiles among `names`, sorted."""
    return sorted(n for n in names if n.lower().startswith(PSEUDO_REALITY_PREFIX))


def _matches(
    tokens: list[str], names: list[str], table: Mapping[str, tuple[str, ...]]
) -> list[Match]:
    consumed: set[int] = set()
    found: dict[str, Match] = {}
    # Longest names first, so `arm_reach` is read before a name `arm` could be.
    for name in sorted(names, key=lambda n: (-len(n), n)):
        literal = name.lower().split("_")
        for start in _starts(tokens, literal, consumed):
            consumed.update(range(start, start + len(literal)))
            _keep(found, Match(name, name, start))
    for name in names:
        for keyword in table[name]:
            phrase = keyword.split()
            for start in _starts(tokens, phrase, consumed):
                if not _guarded(tokens, start, len(phrase)):
                    _keep(found, Match(name, keyword, start))
    return sorted(found.values(), key=lambda m: (m.position, m.name))


def _starts(tokens: list[str], phrase: list[str], consumed: set[int]) -> list[int]:
    size = len(phrase)
    return [
        i
        for i in range(len(tokens) - size + 1)
        if tokens[i : i + size] == phrase and consumed.isdisjoint(range(i, i + size))
    ]


def _guarded(tokens: list[str], start: int, size: int) -> bool:
    word = tokens[start]
    before = tokens[start - 1] if start > 0 else ""
    after = tokens[start + size] if start + size < len(tokens) else ""
    return before in _NOT_AFTER.get(word, ()) or after in _NOT_BEFORE.get(word, ())


def _keep(found: dict[str, Match], match: Match) -> None:
    current = found.get(match.name)
    if current is None or match.position < current.position:
        found[match.name] = match
