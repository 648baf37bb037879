"""The control socket's client, as `marketmanager ctl` uses it (light: no database)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any


class NotRunning(RuntimeError):
    """Nothing answers on the control socket."""


def request(path: Path, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Send one request to the control socket and return its reply."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(payload).encode() + b"\n")
            with sock.makefile("rb") as stream:
                line = stream.readline()
    except (FileNotFoundError, ConnectionRefusedError) as error:
        raise NotRunning(f"the harvester is not running (nothing answers at {path})") from error
    if not line:
        raise NotRunning(f"the harvester closed the control socket at {path} without a reply")
    reply: dict[str, Any] = json.loads(line)
    return reply
