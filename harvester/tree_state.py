"""The parent's live view of its children, in shared memory that the control child reads.

The parent writes a child's pid, restart count and start time the moment it starts or
loses it; `ctl status` reads them at request time and checks each pid in /proc, so it
reports what the parent knows now rather than the last heartbeat's snapshot. No lock:
a child killed while holding one would freeze the parent. A reader may at worst see a
restart count one step ahead of the pid, for the instant of a restart.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

SPAWN = multiprocessing.get_context("spawn")
_PID, _RESTARTS, _STARTED_AT = range(3)
_FIELDS = 3


def process_alive(pid: int | None) -> bool:
    """True while `pid` runs: a killed child its parent has not reaped yet (a zombie) is
    dead, although `kill(pid, 0)` still succeeds on it."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in ("Z", "X")


class ChildSlots:
    """One slot per child, in the order of the parent's children."""

    def __init__(self, names: list[str]) -> None:
        self.names = tuple(names)
        self._values = SPAWN.RawArray("d", _FIELDS * len(names))

    def record(self, index: int, *, pid: int | None, restarts: int, started_at: float) -> None:
        base = index * _FIELDS
        self._values[base + _RESTARTS] = restarts
        self._values[base + _STARTED_AT] = started_at
        self._values[base + _PID] = pid or 0

    def read(self) -> list[dict[str, Any]]:
        processes = []
        for index, name in enumerate(self.names):
            base = index * _FIELDS
            pid = int(self._values[base + _PID]) or None
            processes.append(
                {
                    "name": name,
                    "pid": pid,
                    "alive": process_alive(pid),
                    "started_at": self._values[base + _STARTED_AT],
                    "restarts": int(self._values[base + _RESTARTS]),
                }
            )
        return processes
