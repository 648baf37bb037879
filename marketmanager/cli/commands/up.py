"""`marketmanager up`: supervisord in the foreground with the api and the harvester."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from marketmanager import db, supervision
from marketmanager.errors import CommandError
from marketmanager.migrations import require_migrated
from marketmanager.settings import Settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    url = db.database_url(settings)  # starts the embedded server when DATABASE_URL is unset
    with db.connect(url) as conn:
        require_migrated(conn)
    for folder in (settings.data_dir / "log", settings.data_dir / "run"):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if supervision.socket_path(settings).exists() and _answers(settings):
        raise CommandError(
            f"supervisord already runs for {settings.data_dir} "
            f"(`supervisorctl -s {supervision.server_url(settings)} status`)"
        )
    env = {**os.environ, **supervision.supervisord_env(settings, url)}
    supervisord = str(Path(supervision.supervisorctl_command(settings)[0]).with_name("supervisord"))
    os.execve(supervisord, [supervisord, "-c", str(supervision.CONFIG)], env)


def _answers(settings: Settings) -> bool:
    import subprocess

    result = subprocess.run(
        supervision.supervisorctl_command(settings, "pid"), capture_output=True, timeout=10
    )
    return result.returncode == 0
