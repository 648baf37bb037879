"""What a process holds, read from /proc (Linux), and the processes of a supervised tree."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.daemon import Supervised
from tests.support.rows import Conn


@dataclass(frozen=True)
class Usage:
    pid: int
    rss_kib: int
    fds: int


def usage(pid: int) -> Usage:
    """Resident memory and open file descriptors of `pid`."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return Usage(pid, int(rss), len(os.listdir(f"/proc/{pid}/fd")))


def tree_pids(supervised: Supervised) -> dict[str, int]:
    """role → pid: supervisord, the api, the harvester parent and each of its children."""
    pids = {
        "supervisord": int((supervised.data_dir / "supervisord.pid").read_text()),
        "api": supervised.program_pid("api"),
        "harvester": supervised.program_pid("harvester"),
    }
    status = supervised.wait_control()
    pids.update({child["name"]: int(child["pid"]) for child in status["processes"]})
    return pids


def database_connections(conn: Conn) -> int:
    """Connections to this test's database, besides `conn` itself."""
    row = conn.execute(
        "SELECT count(*) AS n FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchone()
    assert row is not None
    return int(row["n"])


@dataclass(frozen=True)
class Window:
    """One role's figures over a stretch of samples."""

    rss_kib: float  # median
    fds: int  # most
    samples: int


def window(samples: list[Usage]) -> Window:
    return Window(
        statistics.median(s.rss_kib for s in samples), max(s.fds for s in samples), len(samples)
    )


def report_line(role: str, early: Window, late: Window, pid: Any) -> str:
    growth = (late.rss_kib - early.rss_kib) / early.rss_kib * 100
    return (
        f"{role:<12} pid {pid:<8} RSS {early.rss_kib / 1024:7.1f} MiB -> {late.rss_kib / 1024:7.1f}"
        f" MiB ({growth:+5.1f}%)  fds {early.fds:>3} -> {late.fds:>3}"
    )
