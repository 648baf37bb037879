from dataclasses import fields
from pathlib import Path

import pytest

from marketmanager.settings import Settings, SettingsError

BAD_VALUES = {
    "DATABASE_URL": "mysql://nope",
    "MM_DATA_DIR": "  ",
    "MM_CONTROL_SOCKET": "",
    "MM_POOL_SIZE": "zero",
    "MM_RUNS_PER_WORKER": "0",
    "MM_TICK_SECONDS": "-1",
    "MM_STALE_AFTER": "soon",
    "MM_RUN_TIMEOUT": "0",
    "MM_MAX_ATTEMPTS": "1.5",
    "MM_HISTORY_RETENTION_DAYS": "-3",
    "MM_API_HOST": "",
    "MM_API_PORT": "70000",
    "MM_API_REQUIRE_TOKEN": "maybe",
    "MM_API_INTROSPECTION": "2",
    "MM_API_FAST_EXECUTOR": "fast",
    "MM_API_CACHE": "lots",
    "MM_API_CACHE_BYTES": "64MB",
    "MM_MARKETS_REFRESH_SECONDS": "inf",
    "MM_ALLOW_PRIVATE_API_URLS": "sure",
    "MM_STALE_MARKET_HOURS": "nan",
    "MM_ANOMALY_PCT": "ten",
    "MM_LOG_FORMAT": "xml",
    "MM_REQUEST_TIMEOUT": "0",
    "MM_EXCHANGE_RATE_LIMIT": "never",
    "MM_SHUTDOWN_GRACE": "-5",
    "MM_LIVE_QUEUE_SIZE": "0",
}


def test_every_design_variable_is_read() -> None:
    design = {
        "DATABASE_URL",
        "MM_DATA_DIR",
        "MM_CONTROL_SOCKET",
        "MM_POOL_SIZE",
        "MM_TICK_SECONDS",
        "MM_STALE_AFTER",
        "MM_RUN_TIMEOUT",
        "MM_MAX_ATTEMPTS",
        "MM_HISTORY_RETENTION_DAYS",
        "MM_API_HOST",
        "MM_API_PORT",
        "MM_API_REQUIRE_TOKEN",
        "MM_API_INTROSPECTION",
        "MM_MARKETS_REFRESH_SECONDS",
        "MM_ALLOW_PRIVATE_API_URLS",
        "MM_STALE_MARKET_HOURS",
        "MM_ANOMALY_PCT",
        "MM_LOG_FORMAT",
    }
    assert design <= set(BAD_VALUES)
    read = {spec.metadata["env"] for spec in fields(Settings)}
    assert set(BAD_VALUES) == read, "every variable read is tried with a bad value"


@pytest.mark.parametrize(("variable", "value"), sorted(BAD_VALUES.items()))
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: expected ")
    assert repr(value) in str(caught.value)


def test_defaults_with_an_empty_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert settings.data_dir == tmp_path / "var"
    assert settings.socket_path == tmp_path / "var" / "run" / "harvester.sock"
    assert settings.pool_size >= 1
    assert settings.api_require_token is False
    assert settings.api_introspection is True


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u:p@db:5432/mm",
            "MM_POOL_SIZE": " 8 ",
            "MM_TICK_SECONDS": "0.5",
            "MM_API_PORT": "9000",
            "MM_API_REQUIRE_TOKEN": "yes",
            "MM_API_INTROSPECTION": "off",
            "MM_LOG_FORMAT": "console",
            "MM_CONTROL_SOCKET": "/tmp/x.sock",
        }
    )
    assert settings.database_url == "postgresql://u:p@db:5432/mm"
    assert (settings.pool_size, settings.tick_seconds, settings.api_port) == (8, 0.5, 9000)
    assert settings.api_require_token is True
    assert settings.api_introspection is False
    assert settings.log_format == "console"
    assert settings.socket_path == Path("/tmp/x.sock")


def test_as_env_round_trips() -> None:
    settings = Settings.from_env({"MM_POOL_SIZE": "3", "MM_API_REQUIRE_TOKEN": "1"})
    assert Settings.from_env(settings.as_env()) == settings
