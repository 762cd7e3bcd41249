"""Settings from the environment: QERS_ prefix, RUNS_DIR and REDIS_URL unprefixed too."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from handlers.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RUNS_DIR", "REDIS_URL", "QERS_RUNS_DIR", "QERS_REDIS_URL", "QERS_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = Settings.from_env()
    assert settings.runs_dir == Path("runs")
    assert settings.redis_url is None
    assert settings.job_backend == "embedded"
    assert settings.log_level == "INFO"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.request_id_header == "X-Request-ID"
    assert settings.default_max_duration_s <= settings.max_duration_ceiling_s
    assert settings.version


def test_well_known_names_are_read_unprefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNS_DIR", "/data/runs")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    settings = Settings.from_env()
    assert settings.runs_dir == Path("/data/runs")
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.job_backend == "rq"


def test_prefixed_names_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNS_DIR", "/data/plain")
    monkeypatch.setenv("QERS_RUNS_DIR", "/data/prefixed")
    assert Settings.from_env().runs_dir == Path("/data/prefixed")


def test_other_settings_need_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("QERS_LOG_LEVEL", "debug")
    monkeypatch.setenv("QERS_ENGINE_PROBE_TIMEOUT_S", "2.5")
    settings = Settings.from_env()
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.log_level == "DEBUG"
    assert settings.engine_probe_timeout_s == 2.5


def test_constructor_takes_field_names(tmp_path: Path) -> None:
    assert Settings(runs_dir=tmp_path).runs_dir == tmp_path


def test_empty_redis_url_means_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    assert Settings.from_env().job_backend == "embedded"


@pytest.mark.parametrize(
    "bad",
    [
        {"redis_url": "http://localhost"},
        {"log_level": "LOUD"},
        {"max_body_bytes": 0},
        {"default_max_duration_s": 100, "max_duration_ceiling_s": 10},
        {"request_id_header": "Bad Header"},
    ],
)
def test_invalid_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_redis_password_stays_out_of_repr() -> None:
    settings = Settings(redis_url="redis://:hunter2@localhost:6379/0")
    assert "hunter2" not in repr(settings)


def test_cors_origins_are_a_comma_separated_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().cors_origins == ()
    monkeypatch.setenv("QERS_CORS_ORIGINS", " https://app.example.com, http://localhost:5173 ,")
    assert Settings.from_env().cors_origins == ("https://app.example.com", "http://localhost:5173")


@pytest.mark.parametrize("origins", ["*", "https://app.example.com,*"])
def test_cors_wildcard_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, origins: str) -> None:
    monkeypatch.setenv("QERS_CORS_ORIGINS", origins)
    with pytest.raises(ValidationError, match=r"QERS_CORS_ORIGINS='\*' is refused"):
        Settings.from_env()


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://App.Example.com",
        "app.example.com",
        "ftp://app.example.com",
        "https://user@app.example.com",
        "null",
    ],
)
def test_cors_origins_must_be_exact_origins(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an exact origin"):
        Settings(cors_origins=origin)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "rate"),
    [
        ("600/minute", "600/minute"),
        (" 100/10 seconds ", "100/10 seconds"),
        ("off", None),
        ("", None),
    ],
)
def test_rate_limit_is_one_rate_or_off(
    monkeypatch: pytest.MonkeyPatch, value: str, rate: str | None
) -> None:
    assert Settings.from_env().rate_limit is None
    monkeypatch.setenv("QERS_RATE_LIMIT", value)
    assert Settings.from_env().rate_limit == rate


@pytest.mark.parametrize(
    "value", ["600", "many/minute", "600/fortnight", "0/minute", "10/second;600/minute"]
)
def test_a_bad_rate_limit_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("QERS_RATE_LIMIT", value)
    with pytest.raises(ValidationError, match=r"QERS_RATE_LIMIT: .* is not one rate"):
        Settings.from_env()
