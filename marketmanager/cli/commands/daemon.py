"""`marketmanager daemon start|stop|restart|status`: the harvester under supervisord.

- start: when no supervisord runs for the data dir, run `marketmanager up` in the
  background (its output goes to MM_DATA_DIR/log/daemon.log) and wait until the
  harvester is RUNNING; otherwise `supervisorctl start harvester`.
- stop: `supervisorctl stop harvester`; supervisord and the api keep running
  (`supervisorctl shutdown` stops everything).
- restart: `supervisorctl restart harvester`, or start when supervisord is not running.
- status: the harvester's state; exit 0 when it runs, 3 when it does not (as LSB's
  `status` does).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from marketmanager import supervision
from marketmanager.cli.commands import up
from marketmanager.errors import CommandError
from marketmanager.settings import Settings

VERBS = ("start", "stop", "restart", "status")
PROGRAM = "harvester"
START_TIMEOUT = 120.0  # seconds for supervisord to bring the harvester to RUNNING
NOT_RUNNING = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("verb", choices=VERBS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if supervision.supervisord_answers(settings):
        return _supervisorctl(settings, args.verb)
    if args.verb in ("start", "restart"):
        return _start_in_background(settings)
    print(f"{PROGRAM}: not running (no supervisord for {settings.data_dir})")
    return NOT_RUNNING if args.verb == "status" else 0


def _supervisorctl(settings: Settings, verb: str) -> int:
    command = supervision.supervisorctl_command(settings, verb, PROGRAM)
    return subprocess.run(command, check=False).returncode


def _state(settings: Settings) -> str:
    """RUNNING, STARTING, FATAL, … ("" while supervisord does not answer)."""
    command = supervision.supervisorctl_command(settings, "status", PROGRAM)
    words = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.split()
    return words[1] if len(words) > 1 and words[0] == PROGRAM else ""


def _start_in_background(settings: Settings) -> int:
    up.prepare(settings)  # its errors (database, migrations) show here, not in a log
    log_path = settings.data_dir / "log" / "daemon.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "marketmanager.cli", "up"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not stopped by the terminal's hangup or Ctrl-C
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(f"supervisord exited ({process.returncode}); see {log_path}")
        state = _state(settings)
        if state == "RUNNING":
            print(f"{PROGRAM}: started under supervisord (its output: {log_path})")
            return 0
        if state == "FATAL":
            raise CommandError(f"supervisord could not start the {PROGRAM}; see {log_path}")
        time.sleep(0.5)
    raise CommandError(f"the {PROGRAM} was not RUNNING after {START_TIMEOUT:.0f} s; see {log_path}")
