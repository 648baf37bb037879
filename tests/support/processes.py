"""Helpers for tests that start real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without our settings, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_") and k != "DATABASE_URL"}
    env.update(overrides)
    return env


def marketmanager(
    *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "marketmanager"), *args],
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `condition` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pids_of(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def live_processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields after ``(comm)`` in /proc/PID/stat: state ppid pgrp session …) of
    every process that is not a zombie (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # comm may hold spaces and parentheses
        if fields[0] != "Z":
            yield int(entry.name), fields


def session_pids(session: int) -> list[int]:
    """Pids of the live processes whose session id is `session`."""
    return [pid for pid, fields in live_processes() if int(fields[3]) == session]


def descendants(pid: int) -> list[int]:
    """Pids of the live children of `pid`, their children, and so on."""
    children: dict[int, list[int]] = {}
    for child, fields in live_processes():
        children.setdefault(int(fields[1]), []).append(child)
    found, todo = [], list(children.get(pid, ()))
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], ()))
    return found


def kill_session(session: int) -> None:
    """SIGKILL every process of a session started with ``start_new_session=True``.

    supervisord puts each program in a process group of its own, so a process group is
    not enough; the session holds them all."""
    for _ in range(5):
        pids = session_pids(session)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
