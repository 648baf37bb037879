"""`marketmanager daemon start|stop|restart|status` against real supervisord and harvester."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.daemon import Supervised
from tests.support.processes import alive, kill_session, marketmanager, wait_for
from tests.support.rows import Conn


def _daemon(supervised: Supervised, verb: str) -> subprocess.CompletedProcess[str]:
    return marketmanager("daemon", verb, env=supervised.env, timeout=180)


def _node_pid(conn: Conn) -> int:
    """The pid of the harvester that registered last (and has not stopped)."""
    row = wait_for(
        lambda: conn.execute(
            "SELECT pid FROM harvester_nodes WHERE stopped_at IS NULL"
            " ORDER BY started_at DESC LIMIT 1"
        ).fetchone(),
        30,
        "a harvester node",
    )
    return int(row["pid"])


def test_daemon_verbs_start_stop_restart_and_report_the_harvester(
    conn: Conn, db_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    supervised = Supervised(db_url, data_dir)  # for its supervisorctl helpers only
    nothing = _daemon(supervised, "status")
    assert nothing.returncode == 3 and "not running" in nothing.stdout, nothing
    session = None
    try:
        started = _daemon(supervised, "start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "started" in started.stdout
        supervisord = int((data_dir / "supervisord.pid").read_text())
        session = os.getsid(supervisord)
        assert session != os.getsid(0), "supervisord runs detached from the caller"
        first = supervised.program_pid("harvester")
        assert alive(first) and _node_pid(conn) == first
        running = _daemon(supervised, "status")
        assert running.returncode == 0 and "RUNNING" in running.stdout, running

        stopped = _daemon(supervised, "stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not alive(first)
        down = _daemon(supervised, "status")
        assert down.returncode == 3 and "STOPPED" in down.stdout, down
        assert alive(supervisord), "stop stops the harvester, not supervisord"

        again = _daemon(supervised, "start")
        assert again.returncode == 0, again.stdout + again.stderr
        second = supervised.program_pid("harvester")
        assert second != first and alive(second)

        restarted = _daemon(supervised, "restart")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        third = supervised.program_pid("harvester")
        assert third != second and alive(third) and not alive(second)
        wait_for(lambda: _node_pid(conn) == third, 30, "the restarted harvester to register")
        assert (data_dir / "log" / "daemon.log").read_text(), "supervisord's output is kept"

        shutdown = supervised.supervisorctl("shutdown")
        assert shutdown.returncode == 0, shutdown.stdout + shutdown.stderr
        wait_for(lambda: not alive(supervisord), 60, "supervisord to shut down")
        assert not alive(third)
        gone = _daemon(supervised, "status")
        assert gone.returncode == 3 and "not running" in gone.stdout, gone
    finally:
        if session is not None:
            kill_session(session)
