"""`marketmanager ctl status|pause|resume|run NAME|drain [--json]`: the control socket's client."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harvester.control.client import NotRunning, request
from marketmanager.settings import Settings

VERBS = ("status", "pause", "resume", "run", "drain")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("verb", choices=VERBS)
    parser.add_argument("exchange", nargs="?", help="with `run`: the exchange to harvest now")
    parser.add_argument("--json", action="store_true", help="print the raw JSON reply")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if (args.verb == "run") != (args.exchange is not None):
        print("marketmanager ctl: `run` takes one exchange name; other verbs none", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    payload: dict[str, Any] = {"cmd": args.verb}
    if args.exchange:
        payload["exchange"] = args.exchange
    try:
        reply = request(settings.socket_path, payload)
    except NotRunning as error:
        print(f"marketmanager ctl: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:  # no permission, no reply in time, a garbled one
        print(
            f"marketmanager ctl: cannot talk to the harvester at {settings.socket_path}: {error}",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(reply, indent=2, sort_keys=True))
    elif reply.get("ok"):
        print(describe(args.verb, reply))
    if not reply.get("ok"):
        print(f"marketmanager ctl: {reply.get('error')}", file=sys.stderr)
        return 1
    return 0


def describe(verb: str, reply: dict[str, Any]) -> str:
    """A human-readable rendering of a successful reply."""
    if verb == "run":
        run = reply["run"]
        how = "queued" if reply["created"] else "already " + run["state"].lower()
        return f"{run['exchange']}: run {run['id']} {how}"
    mode = "draining" if reply["draining"] else "paused" if reply["paused"] else "running"
    lines = [
        f"node     {reply['node']} ({mode})",
        f"pool     {reply['pool_size']} workers",
        f"queue    {reply['queue_depth']} queued ({reply['queue_due']} due now)",
        f"running  {len(reply['running'])} here, {reply['running_elsewhere']} on other nodes",
        "processes:",
    ]
    for child in reply["processes"]:
        state = "alive" if child["alive"] else "DEAD"
        lines.append(
            f"  {child['name']:<10} pid {child['pid']:<8} {state}"
            f"  restarts {child.get('restarts', 0)}"
        )
    for run in reply["running"]:
        lines.append(
            f"  run {run['id']} {run['exchange']} on {run['worker']} since {run['started_at']}"
        )
    return "\n".join(lines)
