"""`marketmanager up`: supervisord in the foreground with the api and the harvester.

supervisord's output (its own and every program's) comes through a pipe that `up`
relays to its stdout (see marketmanager.cli.relay); signals sent to `up` are passed on to
supervisord, and `up` exits with supervisord's exit code. `marketmanager daemon start`
runs this same command in the background.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from types import FrameType

from marketmanager import db, supervision
from marketmanager.cli.relay import relay
from marketmanager.errors import CommandError
from marketmanager.migrations import require_migrated
from marketmanager.settings import Settings

# what supervisord does on them: stop (TERM, INT, QUIT), reload (HUP), reopen logs (USR2)
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR2)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run)


def prepare(settings: Settings) -> dict[str, str]:
    """Check that supervisord can start for `settings`; the environment to start it with.

    Starts the embedded PostgreSQL when DATABASE_URL is unset."""
    url = db.database_url(settings)
    with db.connect(url) as conn:
        require_migrated(conn)
    for folder in (settings.data_dir / "log", settings.data_dir / "run"):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if supervision.supervisord_answers(settings):
        raise CommandError(
            f"supervisord already runs for {settings.data_dir} "
            f"(`supervisorctl -s {supervision.server_url(settings)} status`)"
        )
    return {**os.environ, **supervision.supervisord_env(settings, url)}


def run(args: argparse.Namespace) -> int:
    env = prepare(Settings.from_env())
    sys.stdout.flush()
    reader, writer = os.pipe()
    try:
        supervisord = subprocess.Popen(
            supervision.supervisord_command(), env=env, stdout=writer, stderr=writer
        )
    finally:
        os.close(writer)

    def forward(signum: int, frame: FrameType | None) -> None:
        supervisord.send_signal(signum)  # a system call, no lock: safe in a handler

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        relay(reader, sys.stdout.fileno())
        code = supervisord.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(reader)
    return code if code >= 0 else 128 - code
