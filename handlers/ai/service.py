"""Plans: checked requests, a planner (the rules, or an LLM vetted like untrusted input),
stored documents. Making a plan runs nothing and creates nothing but the plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from handlers.ai import rules
from handlers.ai.context import Budget, PlanContext
from handlers.ai.llm import LlmPlanner
from handlers.ai.vetting import vet
from handlers.catalogue.service import Catalogue
from handlers.errors import FieldError, ValidationFailed
from handlers.kit import caller
from handlers.kit.contracts import ContractRegistry
from handlers.kit.documents import DocumentFolder
from handlers.kit.paths import EXAMPLES_DIR
from handlers.kit.timestamps import rfc3339
from handlers.settings import Settings
from simengine.assets import AssetRejected, check_urdf, resolve_urdf_path

PLANS_FOLDER = ".plans"
MAX_WARNINGS = 100
# Checks an id before it is planned with: NotFoundError (and ConflictError for projects).
Check = Callable[[str], Any]


class PlanService:
    """Plans of one RUNS_DIR."""

    def __init__(
        self,
        settings: Settings,
        *,
        catalogue: Catalogue,
        check_asset: Check,
        check_project: Check,
        registry: ContractRegistry | None = None,
    ) -> None:
        self.store = DocumentFolder(
            settings.runs_dir, folder=PLANS_FOLDER, kind="plan", prefix="pln_"
        )
        self._catalogue = catalogue
        self._check_asset = check_asset
        self._check_project = check_project
        self._registry = registry or ContractRegistry()
        self._llm: LlmPlanner | None = None
        if settings.planner_url:
            key = settings.planner_api_key
            self._llm = LlmPlanner(
                url=settings.planner_url,
                model=settings.planner_model,
                api_key=key.get_secret_value() if key is not None else None,
                timeout_s=settings.planner_timeout_s,
            )

    async def create(self, request: dict[str, Any]) -> dict[str, Any]:
        """Plan `request` (a validated PlanRequest as JSON) and store the plan."""
        context = self.context(request)
        draft = await self._draft(request["task"], context)
        plan_id = self.store.new_id()
        document = {
            "id": plan_id,
            "created_at": rfc3339(),
            "review_required": True,
            "generator": draft["generator"],
            "task": request["task"],
            "project_id": context.project_id,
            "summary": draft["summary"],
            "rationale": draft["rationale"],
            "budget": context.budget.as_dict(),
            "cost": draft["cost"],
            "steps": draft["steps"],
            "warnings": _capped(draft["warnings"]),
        }
        self.store.put(plan_id, document)
        return document

    def get(self, plan_id: str) -> dict[str, Any]:
        """A stored plan (404 if unknown)."""
        plan: dict[str, Any] = self.store.get(plan_id)
        caller.current().require_visible(plan["project_id"], "plan", plan_id)
        return plan

    def context(self, request: dict[str, Any]) -> PlanContext:
        """What the planners may use; 404/409/422 for what the request names wrongly."""
        scenarios = {s["name"]: s for s in self._catalogue.scenarios()}
        profiles = {p["name"]: p for p in self._catalogue.profiles()}
        errors = _request_errors(request, scenarios, profiles)
        asset_id, urdf_path = request.get("asset_id"), request.get("urdf_path")
        scenario, allowed = request.get("scenario"), request.get("profiles")
        if errors:
            raise ValidationFailed.for_fields(errors)
        if asset_id is not None:
            self._check_asset(asset_id)
        project_id = request.get("project_id")
        caller.current().require_named(project_id)
        if project_id is not None:
            self._check_project(project_id)
        return PlanContext(
            scenarios=scenarios,
            profiles=profiles,
            allowed_profiles=tuple(sorted(set(allowed) if allowed else profiles)),
            scenario=scenario,
            asset_id=asset_id,
            urdf_path=urdf_path,
            project_id=project_id,
            budget=Budget.of(request.get("budget")),
        )

    async def _draft(self, task: str, context: PlanContext) -> dict[str, Any]:
        """The LLM's vetted plan when one is configured and anything of it holds; else the
        rules planner's, with the LLM's warnings first."""
        warnings: list[str] = []
        if self._llm is not None:
            candidate, warnings = await self._llm.propose(task, context)
            if candidate is not None:
                vetted = vet(candidate, context, self._registry)
                warnings = [*warnings, *vetted.warnings]
                if vetted.steps:
                    return {
                        "generator": self._llm.generator,
                        "summary": vetted.summary,
                        "rationale": vetted.rationale,
                        "steps": vetted.steps,
                        "warnings": warnings,
                        "cost": vetted.cost,
                    }
                warnings.append("no step of the LLM's plan was valid")
            warnings.append("the rules planner (rules@1) answered instead of the LLM")
        try:
            draft = rules.plan(task, context)
        except rules.BudgetTooSmall as exc:
            raise ValidationFailed.at(exc.pointer, exc.reason) from exc
        return {**draft, "warnings": [*warnings, *draft["warnings"]]}


def _request_errors(
    request: dict[str, Any], scenarios: dict[str, Any], profiles: dict[str, Any]
) -> list[FieldError]:
    """What the request names that this server does not have, or cannot combine."""
    errors: list[FieldError] = []
    asset_id, urdf_path = request.get("asset_id"), request.get("urdf_path")
    if asset_id is not None and urdf_path is not None:
        errors.append(_error("/urdf_path", "give either urdf_path or asset_id, not both"))
    if urdf_path is not None:
        reason = _urdf_problem(urdf_path)
        if reason is not None:
            errors.append(_error("/urdf_path", reason))
    scenario = request.get("scenario")
    if scenario is not None and scenario not in scenarios:
        known = ", ".join(sorted(scenarios))
        errors.append(_error("/scenario", f"unknown scenario {scenario!r}; valid: {known}"))
    elif (
        scenario is not None and (asset_id or urdf_path) and not scenarios[scenario]["accepts_urdf"]
    ):
        fits = ", ".join(sorted(n for n, s in scenarios.items() if s["accepts_urdf"]))
        reason = f"scenario {scenario!r} has its own robot; with a robot use: {fits}"
        errors.append(_error("/scenario", reason))
    for i, name in enumerate(request.get("profiles") or []):
        if name not in profiles:
            known = ", ".join(sorted(profiles))
            errors.append(_error(f"/profiles/{i}", f"unknown profile {name!r}; valid: {known}"))
    return errors


def _urdf_problem(urdf_path: str) -> str | None:
    try:
        path: Path = resolve_urdf_path(urdf_path, allowed_roots=[EXAMPLES_DIR])
        check_urdf(path, root=EXAMPLES_DIR)
    except AssetRejected as exc:
        return exc.reason
    return None


def _error(pointer: str, reason: str) -> FieldError:
    return {"location": "body", "pointer": pointer, "reason": reason}


def _capped(warnings: list[str]) -> list[str]:
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    return [*warnings[: MAX_WARNINGS - 1], f"{len(warnings) - MAX_WARNINGS + 1} more warnings"]
