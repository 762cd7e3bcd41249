"""Service settings from environment variables (see docs/configuration.md)."""

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import limits
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
JobBackend = Literal["embedded", "rq"]  # contracts/schemas/JobBackend.schema.json
AuthMode = Literal["api_key", "jwt"]
AUTH_MODES: tuple[AuthMode, ...] = ("api_key", "jwt")
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key is at least as long as the hash
MIB = 1024 * 1024
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def package_version() -> str:
    """The installed `qers` distribution's version, or a marker when not installed."""
    try:
        return version("qers")
    except PackageNotFoundError:
        return "0.0.0+unknown"


class Settings(BaseSettings):
    """Everything the service reads from its environment; `QERS_` prefix unless noted."""

    model_config = SettingsConfigDict(
        env_prefix="QERS_", frozen=True, extra="ignore", validate_by_name=True
    )

    runs_dir: Path = Field(
        default=Path("runs"),
        validation_alias=AliasChoices("QERS_RUNS_DIR", "RUNS_DIR"),
        description="Folder holding one sub-folder per run (also read as RUNS_DIR).",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("QERS_REDIS_URL", "REDIS_URL"),
        repr=False,  # may carry a password
        description="Redis for the distributed job backend; unset means embedded.",
    )
    log_level: LogLevel = "INFO"
    max_body_bytes: int = Field(default=MIB, ge=1024, le=1024 * MIB)
    request_id_header: str = Field(
        default="X-Request-ID", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$"
    )
    default_max_duration_s: float = Field(default=300.0, gt=0)
    max_duration_ceiling_s: float = Field(default=3600.0, gt=0)
    engine_probe_timeout_s: float = Field(default=10.0, gt=0, le=300)
    engine_probe_ttl_s: float = Field(default=30.0, ge=0, le=3600)
    warm_spares: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        le=64,
        description="Warm simulation children (the pool): one per core by default; 0: none.",
    )
    sim_child_max_episodes: int = Field(
        default=200, ge=1, le=1_000_000, description="Runs a warm child serves, then it is new."
    )
    sim_child_max_growth_mb: int = Field(
        default=256, ge=1, le=1_000_000, description="Growth past which a warm child is new."
    )
    version: str = Field(default_factory=package_version, min_length=1, max_length=64)

    # Distributed mode (REDIS_URL set): RQ queue, worker liveness, Redis outages.
    queue_name: str = Field(default="qers", min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")
    worker_heartbeat_s: float = Field(default=5.0, gt=0, le=60)
    worker_lost_after_s: float = Field(
        default=20.0, gt=0, le=600, description="A RUNNING run whose heartbeat is older is lost."
    )
    reconcile_interval_s: float = Field(default=10.0, gt=0, le=600)
    redis_retry_after_s: int = Field(default=5, ge=1, le=3600)

    # Webhooks.
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_delays_s: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [1.0, 4.0, 16.0], max_length=10
    )
    webhook_retry_jitter: float = Field(default=0.25, ge=0, le=1)
    webhook_allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts (names or IPs) exempt from the SSRF guard, e.g. 127.0.0.1 in tests.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key sealing stored webhook secrets; absent: a key file in RUNS_DIR.",
    )

    # Asset import (handlers.assets): uploads, and what one package may unpack to.
    max_upload_bytes: int = Field(default=64 * MIB, ge=1024, le=16 * 1024 * MIB)
    import_max_unpacked_bytes: int = Field(default=512 * MIB, ge=1024)
    import_max_entries: int = Field(default=2000, ge=1, le=1_000_000)
    import_max_entry_bytes: int = Field(default=256 * MIB, ge=1024)
    import_max_compression_ratio: float = Field(default=200.0, gt=1, le=100_000)
    import_max_triangles: int = Field(default=2_000_000, ge=1)
    import_max_links: int = Field(default=256, ge=1, le=10_000)
    import_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    import_memory_bytes: int = Field(default=2 * 1024 * MIB, ge=256 * MIB)
    import_concurrency: int = Field(default=2, ge=1, le=64)
    import_wait_s: float = Field(default=30.0, gt=0, le=3600)

    # Idempotency keys.
    idempotency_ttl_s: int = Field(default=86400, ge=86400, le=30 * 86400)

    # The optional LLM planner (an OpenAI-compatible `/chat/completions`); unset: rules only.
    planner_url: str | None = Field(
        default=None, description="Base URL; `<url>/chat/completions` is called."
    )
    planner_model: str = Field(default="gpt-4o-mini", min_length=1, max_length=60)
    planner_api_key: SecretStr | None = Field(default=None, repr=False)
    planner_timeout_s: float = Field(default=30.0, gt=0, le=600)

    # Authentication (docs/security.md). `auth`: off, api_key, jwt or api_key,jwt.
    auth: Annotated[tuple[AuthMode, ...], NoDecode] = Field(
        default=(), description="Enabled credential kinds; empty (QERS_AUTH=off): no auth."
    )
    auth_protect_docs: bool = False
    jwt_secret: SecretStr | None = Field(default=None, repr=False, description="HS256 key.")
    jwt_jwks: str | None = Field(
        default=None, description="RS256/ES256 public keys: a JWKS file path or https URL."
    )
    jwt_issuer: str | None = Field(default=None, max_length=2048)
    jwt_audience: str | None = Field(default=None, max_length=2048)
    jwt_role_claim: str = Field(default="qers_role", min_length=1, max_length=200)
    jwt_projects_claim: str = Field(default="qers_projects", min_length=1, max_length=200)

    # Limits on what one request and one principal may start (docs/security.md, "Limits").
    max_steps_per_request: int | None = Field(
        default=None, ge=1, description="A run's steps or a batch's total; unset: no limit."
    )
    max_runs_per_principal: int | None = Field(
        default=None, ge=1, le=100_000, description="Unfinished runs and batches; unset: none."
    )
    max_pending_runs: int = Field(
        default=32, ge=1, le=100_000, description="Embedded: synchronous work held at once."
    )

    # CORS (docs/security.md): browsers on these exact origins may call the API; empty: none.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(default=(), max_length=100)

    # Rate limit (docs/security.md): one `limits` rate, e.g. `600/minute`; unset or off: none.
    rate_limit: str | None = Field(
        default=None, description="Requests per window for each principal (or address)."
    )

    @classmethod
    def from_env(cls) -> "Settings":
        """Settings read from the process environment."""
        return cls()

    @property
    def job_backend(self) -> JobBackend:
        """Which job backend `redis_url` selects."""
        return "rq" if self.redis_url else "embedded"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("webhook_retry_delays_s", "webhook_allow_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list | tuple):
            return tuple(_exact_origin(item) for item in value)
        return value

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _rate_limit(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if value.lower() in ("", "off"):
            return None
        try:
            rates = limits.parse_many(value)
        except ValueError:
            rates = []
        if len(rates) != 1 or rates[0].amount < 1:
            raise ValueError(
                f"QERS_RATE_LIMIT: {value!r} is not one rate of at least 1 request, "
                "e.g. 600/minute or 100/10 seconds; use off for no limit"
            )
        return value

    @field_validator("planner_url", mode="before")
    @classmethod
    def _planner_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().rstrip("/") or None
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip() or None
        if isinstance(value, str) and not value.startswith(_REDIS_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(_REDIS_SCHEMES)}")
        return value

    @field_validator("auth", mode="before")
    @classmethod
    def _auth_modes(cls, value: object) -> object:
        if isinstance(value, str):
            items = [item.strip().lower() for item in value.split(",") if item.strip()]
            if items in ([], ["off"]):
                return ()
            unknown = sorted(set(items) - set(AUTH_MODES))
            if unknown:
                raise ValueError(
                    f"unknown mode {unknown[0]!r}: use off, api_key, jwt or api_key,jwt"
                )
            return tuple(mode for mode in AUTH_MODES if mode in items)
        return value

    @field_validator("jwt_jwks", "jwt_issuer", "jwt_audience", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _jwt_keys(self) -> "Settings":
        if "jwt" not in self.auth:
            return self
        if (self.jwt_secret is None) == (self.jwt_jwks is None):
            # One key kind, so the algorithm allow-list follows from it (RFC 8725 3.1).
            raise ValueError("QERS_AUTH=jwt needs exactly one of QERS_JWT_SECRET, QERS_JWT_JWKS")
        secret = self.jwt_secret
        if secret is not None and len(secret.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"QERS_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes")
        if not self.jwt_issuer or not self.jwt_audience:
            raise ValueError("QERS_AUTH=jwt needs QERS_JWT_ISSUER and QERS_JWT_AUDIENCE")
        return self

    @model_validator(mode="after")
    def _duration_within_ceiling(self) -> "Settings":
        if self.default_max_duration_s > self.max_duration_ceiling_s:
            raise ValueError("default_max_duration_s must not exceed max_duration_ceiling_s")
        return self


def _exact_origin(value: object) -> object:
    """`value` when it is one exact origin (`scheme://host[:port]`); `*` is refused."""
    if not isinstance(value, str):
        return value
    if value == "*":
        # A wildcard lets any page a user opens call the API from their browser, from inside
        # their network and with whatever key the page gets hold of: name the front-ends.
        raise ValueError(
            "QERS_CORS_ORIGINS='*' is refused (the API takes keys and tokens): "
            "list the exact origins, e.g. https://app.example.com"
        )
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or f"{parts.scheme}://{parts.netloc}" != value
        or "@" in parts.netloc
        or value != value.lower()
    ):
        raise ValueError(
            f"QERS_CORS_ORIGINS: {value!r} is not an exact origin (scheme://host[:port], "
            "lower case, no path, e.g. https://app.example.com)"
        )
    return value
