"""`/v1/scenarios` (tag `scenarios`) and `/api/reality-profiles` (tag `profiles`)."""

from __future__ import annotations

from fastapi import Response

from generated.models import RealityProfile, RealityProfileList, Scenario, ScenarioList
from handlers.catalogue.service import Catalogue


class ScenariosApi:
    """Implements `generated.protocols.ScenariosHandler`."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue

    async def list_scenarios(self, *, response: Response) -> ScenarioList:
        """List the registered scenarios."""
        items = [Scenario.model_validate(s) for s in self._catalogue.scenarios()]
        return ScenarioList(items=items)


class ProfilesApi:
    """Implements `generated.protocols.ProfilesHandler`."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue

    async def list_reality_profiles(self, *, response: Response) -> RealityProfileList:
        """List the reality profiles."""
        items = [RealityProfile.model_validate(p) for p in self._catalogue.profiles()]
        return RealityProfileList(items=items)
