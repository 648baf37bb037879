"""The embedded PostgreSQL used when DATABASE_URL is unset (pgserver, binaries from PyPI).

Its data lives under ``MM_DATA_DIR/pgdata`` and it listens on a UNIX socket in that
folder only (no TCP port). A second process finds it running and reuses it; it is left
running when a process exits, so the API, the harvester and the CLI share one server.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from marketmanager.errors import DatabaseUnavailable


def embedded_data_path(data_dir: Path) -> Path:
    return data_dir / "pgdata"


def embedded_database_url(data_dir: Path) -> str:
    """Start (or find running) the embedded server and return a URL for it."""
    pgdata = embedded_data_path(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # pgserver keeps an inter-process lock under the user's runtime dir; give it one that
    # every process of this data dir agrees on when the login session has none.
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))
    # pgserver logs every start at INFO through the root logger; keep our stdout clean.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    try:
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as error:  # pgserver raises plain exceptions from initdb/pg_ctl
        raise DatabaseUnavailable(
            f"cannot start the embedded PostgreSQL in {pgdata}: {error}"
        ) from error
    return str(server.get_uri())


def _pg_ctl(pgdata: Path, args: list[str]) -> None:
    from pgserver import _commands

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver's own user when root
    _commands.pg_ctl(args, pgdata=pgdata, user=user)  # type: ignore[attr-defined]


def stop_embedded(data_dir: Path) -> None:
    """Stop the embedded server of `data_dir` if it runs (tests, `marketmanager db stop`)."""
    pgdata = embedded_data_path(data_dir)
    if not (pgdata / "postmaster.pid").exists():
        return
    _pg_ctl(pgdata, ["-w", "-m", "fast", "stop"])


def restart_embedded(data_dir: Path) -> None:
    """``pg_ctl restart`` the embedded server of `data_dir` (fast: every connection is
    cut); returns once it accepts connections again, with the options it was started
    with (the same socket)."""
    pgdata = embedded_data_path(data_dir)
    _pg_ctl(pgdata, ["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"])
