"""Settings: every environment variable of the project (README, Configuration), read once
and validated.

`Settings.from_env(mapping)` takes any mapping (``os.environ`` in production, a dict in
tests). A missing-but-required or malformed value raises `SettingsError` naming the
variable; entry points print its one line and exit 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from marketmanager.errors import SettingsError

T = TypeVar("T")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError


def _log_format(text: str) -> str:
    if text not in ("json", "console"):
        raise ValueError
    return text


def mask_password(url: str) -> str:
    """`url` with any password (in the user info, up to its last ``@``, or in a
    ``password=`` parameter or keyword) replaced by ``***``."""
    url = re.sub(r"(://[^:/@]+:)[^/?#]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&#]*", r"\1***", url, flags=re.IGNORECASE)


def _database_url(text: str) -> str:
    if not text.startswith(("postgresql://", "postgres://")):
        raise ValueError
    return text


def _nonempty(text: str) -> str:
    if not text.strip():
        raise ValueError
    return text


def _path(text: str) -> Path:
    return Path(_nonempty(text))


_EXPECTED: dict[Callable[[str], Any], str] = {
    _positive_int: "a whole number greater than 0",
    _positive_float: "a number of seconds greater than 0",
    _port: "a TCP port from 1 to 65535",
    _boolean: "one of 1/0, true/false, yes/no, on/off",
    _log_format: "'json' or 'console'",
    _database_url: "a postgresql:// URL",
    _nonempty: "a non-empty value",
    _path: "a non-empty path",
}


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, metadata={"env": "DATABASE_URL"})
    data_dir: Path = field(default=Path("var"), metadata={"env": "MM_DATA_DIR"})
    control_socket: Path | None = field(default=None, metadata={"env": "MM_CONTROL_SOCKET"})
    pool_size: int = field(default=2, metadata={"env": "MM_POOL_SIZE"})
    runs_per_worker: int = field(default=8, metadata={"env": "MM_RUNS_PER_WORKER"})
    tick_seconds: float = field(default=1.0, metadata={"env": "MM_TICK_SECONDS"})
    stale_after: float = field(default=30.0, metadata={"env": "MM_STALE_AFTER"})
    run_timeout: float = field(default=300.0, metadata={"env": "MM_RUN_TIMEOUT"})
    max_attempts: int = field(default=5, metadata={"env": "MM_MAX_ATTEMPTS"})
    history_retention_days: int = field(default=30, metadata={"env": "MM_HISTORY_RETENTION_DAYS"})
    api_host: str = field(default="127.0.0.1", metadata={"env": "MM_API_HOST"})
    api_port: int = field(default=8000, metadata={"env": "MM_API_PORT"})
    api_require_token: bool = field(default=False, metadata={"env": "MM_API_REQUIRE_TOKEN"})
    api_introspection: bool = field(default=True, metadata={"env": "MM_API_INTROSPECTION"})
    api_fast_executor: bool = field(default=True, metadata={"env": "MM_API_FAST_EXECUTOR"})
    api_cache: bool = field(default=True, metadata={"env": "MM_API_CACHE"})
    api_cache_bytes: int = field(default=64 * 2**20, metadata={"env": "MM_API_CACHE_BYTES"})
    markets_refresh_seconds: float = field(
        default=3600.0, metadata={"env": "MM_MARKETS_REFRESH_SECONDS"}
    )
    allow_private_api_urls: bool = field(
        default=False, metadata={"env": "MM_ALLOW_PRIVATE_API_URLS"}
    )
    stale_market_hours: float = field(default=24.0, metadata={"env": "MM_STALE_MARKET_HOURS"})
    anomaly_pct: float = field(default=20.0, metadata={"env": "MM_ANOMALY_PCT"})
    log_format: str | None = field(default=None, metadata={"env": "MM_LOG_FORMAT"})
    request_timeout: float = field(default=30.0, metadata={"env": "MM_REQUEST_TIMEOUT"})
    # ccxt's own rate limiter; off only against a local simulator (benchmarks)
    exchange_rate_limit: bool = field(default=True, metadata={"env": "MM_EXCHANGE_RATE_LIMIT"})
    shutdown_grace: float = field(default=20.0, metadata={"env": "MM_SHUTDOWN_GRACE"})
    live_queue_size: int = field(default=64, metadata={"env": "MM_LIVE_QUEUE_SIZE"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = spec.metadata["env"]
            raw = env.get(name)
            if raw is None:
                continue
            values[spec.name] = _parse(name, raw, _PARSERS[spec.name])
        settings = cls(**values)
        return settings.resolved()

    def resolved(self) -> Settings:
        """Absolute paths, so that every child process agrees on them."""
        data_dir = self.data_dir.expanduser().absolute()
        socket = self.control_socket or data_dir / "run" / "harvester.sock"
        return replace(self, data_dir=data_dir, control_socket=socket.expanduser().absolute())

    @property
    def socket_path(self) -> Path:
        assert self.control_socket is not None, "call resolved() first"
        return self.control_socket

    def as_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        env: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None:
                continue
            if isinstance(value, bool):
                value = "1" if value else "0"
            env[spec.metadata["env"]] = str(value)
        return env


_PARSERS: dict[str, Callable[[str], Any]] = {
    "database_url": _database_url,
    "data_dir": _path,
    "control_socket": _path,
    "pool_size": _positive_int,
    "runs_per_worker": _positive_int,
    "tick_seconds": _positive_float,
    "stale_after": _positive_float,
    "run_timeout": _positive_float,
    "max_attempts": _positive_int,
    "history_retention_days": _positive_int,
    "api_host": _nonempty,
    "api_port": _port,
    "api_require_token": _boolean,
    "api_introspection": _boolean,
    "api_fast_executor": _boolean,
    "api_cache": _boolean,
    "api_cache_bytes": _positive_int,
    "markets_refresh_seconds": _positive_float,
    "allow_private_api_urls": _boolean,
    "stale_market_hours": _positive_float,
    "anomaly_pct": _positive_float,
    "log_format": _log_format,
    "request_timeout": _positive_float,
    "exchange_rate_limit": _boolean,
    "shutdown_grace": _positive_float,
    "live_queue_size": _positive_int,
}


def _parse(variable: str, raw: str, parser: Callable[[str], T]) -> T:
    try:
        return parser(raw.strip())
    except (ValueError, TypeError):
        expected = _EXPECTED[parser]
        shown = mask_password(raw) if parser is _database_url else raw
        raise SettingsError(variable, f"expected {expected}, got {shown!r}") from None
