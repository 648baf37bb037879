"""Where supervisord's files live for a data dir, and the environment it is started with."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

from marketmanager.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = REPO_ROOT / "supervisord.conf"


def socket_path(settings: Settings) -> Path:
    return settings.data_dir / "supervisord.sock"


def server_url(settings: Settings) -> str:
    return f"unix://{socket_path(settings)}"


def supervisord_env(settings: Settings, database_url: str) -> dict[str, str]:
    """Variables supervisord.conf expands, plus the settings its programs read."""
    env = settings.as_env()
    env.update(
        DATABASE_URL=database_url,
        MM_DATA_DIR=str(settings.data_dir),
        MM_PYTHON=sys.executable,
        MM_STOPWAITSECS=str(math.ceil(settings.shutdown_grace) + 10),
    )
    return env


def supervisorctl_command(settings: Settings, *args: str) -> list[str]:
    return [
        str(Path(sys.executable).with_name("supervisorctl")),
        "-c",
        str(CONFIG),
        "-s",
        server_url(settings),
        *args,
    ]


def supervisord_command() -> list[str]:
    return [str(Path(sys.executable).with_name("supervisord")), "-c", str(CONFIG)]


def supervisord_answers(settings: Settings) -> bool:
    """True when a supervisord of this data dir answers on its socket."""
    if not socket_path(settings).exists():
        return False
    result = subprocess.run(supervisorctl_command(settings, "pid"), capture_output=True, timeout=30)
    return result.returncode == 0
