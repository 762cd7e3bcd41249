"""What to run: a request from either API, validated into an engine spec before anything is stored.

`RunRequest` is what `/v1/runs` (RunCreate), `/api/sim/run` (SimRunRequest) and `qers run`
ask for; `prepare` checks it completely (scenario, profile, bounds, the URDF) and turns it
into the spec a simulation child runs. A rejected request leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import MISSING

from generated.models import RunCreate, SimRunRequest
from handlers.assets.store import ASSETS_FOLDER, FILES_FOLDER
from handlers.errors import NotFoundError, ValidationFailed
from handlers.kit.paths import EXAMPLES_DIR
from handlers.runs.urdfcache import check_urdf_once
from handlers.settings import Settings
from handlers.webhooks import plan as webhook_plan
from handlers.webhooks.plan import WebhookPlan
from simengine import spec as engine_spec
from simengine.assets import AssetRejected, resolve_urdf_path
from simengine.errors import InvalidConfig
from simengine.spec import DEFAULT_PROFILE, DEFAULT_SEED

# Where each RunRequest field sits in a RunCreate body, for 422 pointers.
_V1_POINTERS = {
    "scenario": "/scenario",
    "profile": "/options/profile",
    "seed": "/options/seed",
    "steps": "/options/steps",
    "dt": "/options/dt",
    "record_replay": "/options/record_replay",
    "max_duration_s": "/options/max_duration_s",
    "params": "/config/params",
    "urdf_path": "/config/urdf_path",
    "asset_id": "/config/asset_id",
    "replay_of": "/options/replay_of",
    "webhook_url": "/options/webhook_url",
    "webhook_secret": "/options/webhook_secret",
    "project_id": "/options/project_id",
}
# SimRunRequest is flat: every field sits at the top of the body.
_SIM_POINTERS = {name: f"/{name}" for name in _V1_POINTERS}
# RunRequest fields a body gives as they are (params and tags are converted).
_SCALAR_FIELDS = (
    "profile",
    "seed",
    "steps",
    "dt",
    "urdf_path",
    "asset_id",
    "max_duration_s",
    "record_replay",
    "project_id",
    "webhook_url",
    "webhook_secret",
    "replay_of",
)


class ProjectDirectory(Protocol):
    """Which projects take new runs and batches (`handlers.projects` keeps them)."""

    def require_open(self, project_id: str) -> None:
        """Return if the project exists and is not archived.

        Raises:
            NotFoundError: there is no such project.
            ConflictError: the project is archived.
        """
        ...


class AssetDirectory(Protocol):
    """Imported assets a run can simulate (`handlers.assets` keeps them)."""

    def resolve(self, asset_id: str) -> ResolvedAsset:
        """The asset's canonical URDF; NotFoundError if there is no such asset."""
        ...


class ResolvedAsset(Protocol):
    """What a run needs of an asset: its canonical URDF, the folder holding it, its hash."""

    @property
    def asset_id(self) -> str: ...
    @property
    def urdf(self) -> Path: ...
    @property
    def root(self) -> Path: ...
    @property
    def sha256(self) -> str: ...


class NoProjects:
    """A ProjectDirectory without projects (`qers run`, benchmarks): every id is unknown."""

    def require_open(self, project_id: str) -> None:
        """See `ProjectDirectory.require_open`: always NotFoundError."""
        raise NotFoundError.resource("project", project_id)


@dataclass(frozen=True)
class RunRequest:
    """What to run, whichever API asked: `/v1/runs` (RunCreate) or `/api/sim/run`.

    `None` means "absent" (the server default applies). `operation` names the operation
    in 501 problems; `pointers` maps each field to its JSON pointer in the request body.
    """

    operation: str
    scenario: str
    pointers: Mapping[str, str]
    profile: str | None = None
    seed: int | None = None
    steps: int | None = None
    dt: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    urdf_path: str | None = None
    asset_id: str | None = None
    tags: tuple[str, ...] = ()
    max_duration_s: float | None = None
    record_replay: bool | None = None
    project_id: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    replay_of: str | None = None
    # Batch children: the batch and the domain-randomisation episode (sampled in the child).
    batch_id: str | None = None
    episode: int | None = None
    # Fields the client set explicitly (a replay refuses explicit values that differ).
    explicit: frozenset[str] = frozenset()

    @classmethod
    def from_run_create(cls, body: RunCreate) -> RunRequest:
        """The request of `POST /v1/runs`: its `options` and `config` hold the fields."""
        data = body.model_dump(mode="json")  # absent fields are left out
        explicit = frozenset(body.options.model_fields_set if body.options is not MISSING else ())
        explicit |= frozenset(body.config.model_fields_set if body.config is not MISSING else ())
        fields = {**data.get("options", {}), **data.get("config", {})}
        return cls.of_fields("createRun", body.scenario, fields, _V1_POINTERS, explicit)

    @classmethod
    def from_sim(cls, body: SimRunRequest) -> RunRequest:
        """The request of `POST /api/sim/run`: a flat body."""
        data = body.model_dump(mode="json")
        return cls.of_fields("startSimRun", body.scenario, data, _SIM_POINTERS)

    @classmethod
    def of_fields(
        cls,
        operation: str,
        scenario: str,
        fields: Mapping[str, Any],
        pointers: Mapping[str, str],
        explicit: frozenset[str] = frozenset(),
        **extra: Any,
    ) -> RunRequest:
        """A request from the fields a body sent (absent ones left out); `extra` sets
        fields no body sends (a batch child's `batch_id`, `episode`)."""
        present = {name: fields[name] for name in _SCALAR_FIELDS if name in fields}
        return cls(
            operation=operation,
            scenario=scenario,
            pointers=pointers,
            params=fields.get("params", {}),
            tags=tuple(fields.get("tags", ())),
            explicit=explicit,
            **present,
            **extra,
        )


@dataclass(frozen=True)
class PreparedRun:
    """A validated request: the engine spec, the wall-clock budget and the RunConfigSummary."""

    spec: dict[str, Any]
    max_duration_s: float
    summary: dict[str, Any]
    webhook: WebhookPlan | None = None

    def portable_spec(self) -> dict[str, Any]:
        """The spec without this host's absolute URDF path (a worker resolves the label)."""
        return {**self.spec, "urdf_path": None}


def prepare(
    request: RunRequest, settings: Settings, *, assets: AssetDirectory | None = None
) -> PreparedRun:
    """Validate `request` completely (nothing is stored yet); 4xx errors say what is wrong.

    The project is not looked up here: the run service asks its `ProjectDirectory`.
    """
    pointers = request.pointers
    asset = _asset_of(request, assets)
    max_duration_s = request.max_duration_s
    if max_duration_s is None:
        max_duration_s = settings.default_max_duration_s
    if max_duration_s > settings.max_duration_ceiling_s:
        raise ValidationFailed.at(
            pointers["max_duration_s"],
            f"must be at most {settings.max_duration_ceiling_s:g} s on this server",
        )
    spec: dict[str, Any] = {
        "scenario": request.scenario,
        "profile": request.profile if request.profile is not None else DEFAULT_PROFILE,
        "seed": request.seed if request.seed is not None else DEFAULT_SEED,
        "steps": request.steps,
        "dt": request.dt,
        "params": dict(request.params),
        "record_replay": request.record_replay if request.record_replay is not None else True,
        "urdf_path": None,
        "dr_episode": request.episode,
    }
    urdf_label = request.urdf_path
    robot_pointer = pointers["asset_id" if asset is not None else "urdf_path"]
    try:
        validated = engine_spec.validate(spec)
        if asset is not None:
            # The import child checked the asset completely (with its own, larger limits);
            # its files are ours and immutable, so a run does not parse them again here.
            label = asset_label(asset.asset_id, asset.urdf.relative_to(asset.root).as_posix())
            spec.update(urdf_path=str(asset.urdf), urdf_label=label)
            engine_spec.validate(spec)
        elif urdf_label is not None:
            path = resolve_urdf_path(urdf_label, allowed_roots=[EXAMPLES_DIR])
            check_urdf_once(path, root=EXAMPLES_DIR)
            spec.update(urdf_path=str(path), urdf_label=urdf_label)
            engine_spec.validate(spec)
    except AssetRejected as exc:
        raise ValidationFailed.at(robot_pointer, exc.reason) from exc
    except InvalidConfig as exc:
        field = robot_pointer if exc.field == "urdf_path" else pointers.get(exc.field, "")
        raise ValidationFailed.at(field, exc.reason) from exc
    spec.update(profile=validated.profile, steps=validated.steps, dt=validated.dt)
    summary = {
        "urdf_path": urdf_label,
        "asset_id": asset.asset_id if asset is not None else None,
        "asset_sha256": asset.sha256 if asset is not None else None,
        "params": validated.params,
        "seed": validated.seed,
        "steps": validated.steps,
        "dt": validated.dt,
        "max_duration_s": max_duration_s,
        "record_replay": validated.record_replay,
    }
    webhook = webhook_plan.plan(
        url=request.webhook_url,
        secret=request.webhook_secret,
        settings=settings,
        pointers=pointers,
    )
    return PreparedRun(spec=spec, max_duration_s=max_duration_s, summary=summary, webhook=webhook)


def localize(spec: Mapping[str, Any], runs_dir: Path) -> dict[str, Any]:
    """A portable spec with the URDF label resolved on this host (workers call this): an
    example's under `examples/`, an asset's under this host's `RUNS_DIR/assets/`."""
    local = dict(spec)
    label = local.get("urdf_label")
    if label is not None:
        roots = [EXAMPLES_DIR, runs_dir / ASSETS_FOLDER]
        local["urdf_path"] = str(resolve_urdf_path(label, allowed_roots=roots))
    return local


def asset_label(asset_id: str, main_file: str) -> str:
    """How a run records an asset's URDF: its path under `RUNS_DIR` (a UrdfPath)."""
    return f"{ASSETS_FOLDER}/{asset_id}/{FILES_FOLDER}/{main_file}"


def _asset_of(request: RunRequest, assets: AssetDirectory | None) -> ResolvedAsset | None:
    if request.asset_id is None:
        return None
    if request.urdf_path is not None:
        reason = "give either urdf_path or asset_id, not both"
        raise ValidationFailed.at(request.pointers["asset_id"], reason)
    if assets is None:
        raise NotFoundError.resource("asset", request.asset_id)
    return assets.resolve(request.asset_id)
