"""`marketmanager daemon start|stop|restart|status`: the harvester, through supervisorctl."""

from __future__ import annotations

import argparse
import subprocess

from marketmanager import supervision
from marketmanager.settings import Settings

VERBS = ("start", "stop", "restart", "status")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("verb", choices=VERBS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    command = supervision.supervisorctl_command(settings, args.verb, "harvester")
    return subprocess.run(command, check=False).returncode
