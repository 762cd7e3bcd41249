"""Words of a task to scenarios and profiles: every keyword, literal names, guards."""

from __future__ import annotations

import pytest

from handlers.ai.keywords import (
    PROFILE_KEYWORDS,
    PSEUDO_REALITY_KEYWORDS,
    SCENARIO_KEYWORDS,
    named_profiles,
    named_scenarios,
    words,
)
from tests.handlers.ai.helpers import context

CONTEXT = context()
SCENARIOS = sorted(CONTEXT.scenarios)
PROFILES = sorted(CONTEXT.profiles)


def scenario_names(task: str) -> list[str]:
    return [m.name for m in named_scenarios(task, SCENARIOS)]


def profile_names(task: str, known: list[str] = PROFILES) -> list[str]:
    return [m.name for m in named_profiles(task, known)]


def test_the_tables_name_only_scenarios_and_profiles_the_engine_has() -> None:
    assert set(SCENARIO_KEYWORDS) == set(SCENARIOS)
    assert set(PROFILE_KEYWORDS) <= set(PROFILES)


@pytest.mark.parametrize(
    ("scenario", "keyword"),
    [(s, k) for s, keywords in SCENARIO_KEYWORDS.items() for k in keywords],
)
def test_every_scenario_keyword_names_its_scenario(scenario: str, keyword: str) -> None:
    assert scenario_names(f"What about the {keyword} case?") == [scenario]


@pytest.mark.parametrize(
    ("profile", "keyword"),
    [(p, k) for p, keywords in PROFILE_KEYWORDS.items() for k in keywords]
    + [("pseudo_reality_A", k) for k in PSEUDO_REALITY_KEYWORDS],
)
def test_every_profile_keyword_names_its_profile(profile: str, keyword: str) -> None:
    assert profile_names(f"What about the {keyword} case?") == [profile]


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_literal_scenario_name_names_it(name: str) -> None:
    assert scenario_names(f"Run {name} please") == [name]


@pytest.mark.parametrize("name", PROFILES)
def test_a_literal_profile_name_names_exactly_it(name: str) -> None:
    assert profile_names(f"Try {name.upper()} now") == [name]


def test_spelling_variants_of_phrases_read_alike() -> None:
    assert words("Sim-to-Real, sim_to_real") == ["sim", "to", "real", "sim", "to", "real"]
    for text in ("sim-to-real", "Sim to real", "the real-world gap", "SIM2REAL"):
        assert profile_names(text) == ["pseudo_reality_A"], text
    assert profile_names("slippery warehouse") == ["slippery_warehouse"]


def test_a_literal_name_is_not_read_again_as_keywords() -> None:
    known = [*PROFILES, "pseudo_reality_B"]
    assert profile_names("compare with pseudo_reality_B", known) == ["pseudo_reality_B"]
    assert profile_names("the reality gap", known) == ["pseudo_reality_A", "pseudo_reality_B"]


def test_matches_come_in_order_of_first_mention() -> None:
    assert scenario_names("push a box, then stand, then reach") == [
        "push_slide",
        "quadruped_stand",
        "arm_reach",
    ]
    matches = named_profiles("on the moon with worn motors on a slippery floor", PROFILES)
    assert [(m.name, m.keyword) for m in matches] == [
        ("low_gravity_moon", "moon"),
        ("worn_actuators", "worn"),
        ("slippery_warehouse", "slippery"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "How much does the score drop?",
        "Is there a drop in success?",
        "Does performance fall on a wet floor?",
        "What is the impact of worn motors?",
        "a standard check of armature and downloads",
    ],
)
def test_metric_words_and_longer_words_name_no_scenario(text: str) -> None:
    assert scenario_names(text) == []


def test_load_the_model_is_not_a_payload() -> None:
    assert profile_names("Load the URDF and load my model") == []
    assert profile_names("with a load on the arm") == ["heavy_payload"]


def test_a_keyword_of_a_profile_the_server_lacks_names_nothing() -> None:
    known = [p for p in PROFILES if p != "low_gravity_moon"]
    assert profile_names("on the moon", known) == []
