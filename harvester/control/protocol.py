"""The control socket's protocol, pure: parse a request line, shape replies.

Newline-delimited JSON. A request is ``{"cmd": "status"}`` (``run`` also takes
``"exchange"``); a reply is ``{"ok": true, …}`` or ``{"ok": false, "error": "…"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_LINE = 64 * 1024
COMMANDS = ("status", "pause", "resume", "run", "drain")


class BadRequest(ValueError):
    """The request cannot be served; the message is the reply's error."""


@dataclass(frozen=True, slots=True)
class Request:
    cmd: str
    exchange: str | None = None


def parse_request(line: bytes) -> Request:
    try:
        payload = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadRequest('a request is a JSON object like {"cmd": "status"}')
    cmd = payload.get("cmd")
    if not isinstance(cmd, str) or cmd not in COMMANDS:
        raise BadRequest(f"unknown command {cmd!r}; commands: {', '.join(COMMANDS)}")
    exchange = payload.get("exchange")
    if cmd == "run":
        if not isinstance(exchange, str) or not exchange.strip():
            raise BadRequest('"run" needs {"exchange": "<name>"}')
        return Request(cmd, exchange.strip())
    return Request(cmd)


def ok(**fields: Any) -> bytes:
    return encode({"ok": True, **fields})


def error(message: str) -> bytes:
    return encode({"ok": False, "error": message})


def encode(reply: dict[str, Any]) -> bytes:
    return json.dumps(reply, default=str, separators=(",", ":")).encode() + b"\n"
