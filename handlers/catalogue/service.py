"""The scenario and reality-profile catalogues, read from the engine without loading physics."""

from __future__ import annotations

from typing import Any

from simengine import api as engine_api


class Catalogue:
    """Every scenario and reality profile, shaped as their contracts are."""

    def scenarios(self) -> list[dict[str, Any]]:
        """Every scenario (Scenario shape), sorted by name."""
        return engine_api.list_scenarios()

    def profiles(self) -> list[dict[str, Any]]:
        """Every reality profile (RealityProfile shape), sorted by name."""
        return engine_api.list_profiles()
