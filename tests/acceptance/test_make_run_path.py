"""`make run`'s path end to end: migrate, then `marketmanager up` (supervisord)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from marketmanager import db
from marketmanager.embedded import embedded_database_url, stop_embedded
from tests.support.processes import (
    BIN,
    REPO,
    alive,
    child_env,
    free_port,
    marketmanager,
    wait_for,
)


def _supervisorctl(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "supervisorctl"),
            "-c",
            "supervisord.conf",
            "-s",
            f"unix://{data_dir}/supervisord.sock",
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.ConnectError:
        return None


@pytest.fixture(params=["embedded", "DATABASE_URL"])
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    data_dir = tmp_path / "data"
    env = child_env(MM_DATA_DIR=str(data_dir), MM_API_PORT=str(free_port()), MM_LOG_FORMAT="json")
    if request.param == "DATABASE_URL":
        env["DATABASE_URL"] = request.getfixturevalue("empty_db_url")
    yield env
    stop_embedded(data_dir)


def test_supervisord_runs_both_programs_and_leaves_nothing_behind(
    environment: dict[str, str],
) -> None:
    data_dir = Path(environment["MM_DATA_DIR"])
    migrated = marketmanager("migrate", env=environment, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    up = subprocess.Popen(
        [str(BIN / "marketmanager"), "up"],
        env=environment,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for program in ("harvester", "api"):

            def running(program: str = program) -> bool:
                return "RUNNING" in _supervisorctl(data_dir, "status", program).stdout

            wait_for(running, 60, f"{program} RUNNING")
            status = _supervisorctl(data_dir, "status", program)
            assert status.returncode == 0 and "RUNNING" in status.stdout
        socket_mode = (data_dir / "supervisord.sock").stat().st_mode & 0o777
        assert socket_mode == 0o700
        readyz = f"http://127.0.0.1:{environment['MM_API_PORT']}/readyz"
        ready = wait_for(lambda: _get(readyz), 30, "the API to listen")
        assert ready.status_code == 200 and ready.json() == {"ready": True}

        url = environment.get("DATABASE_URL") or embedded_database_url(data_dir)
        with db.connect(url, autocommit=True) as conn:
            node = wait_for(
                lambda: conn.execute(
                    "SELECT processes FROM harvester_nodes WHERE stopped_at IS NULL "
                    "AND jsonb_array_length(processes) > 0"
                ).fetchone(),
                30,
                "the harvester node's heartbeat",
            )
        assert isinstance(node, dict)
        pids = [child["pid"] for child in node["processes"]]
        names = {child["name"] for child in node["processes"]}
        assert {"scheduler", "poller", "control", "worker-1"} <= names
        for program in ("harvester", "api"):
            pids.append(int(_supervisorctl(data_dir, "pid", program).stdout))
        assert all(alive(pid) for pid in pids)
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    assert not [pid for pid in pids if alive(pid)], "processes left behind"
    assert "stopped: harvester (exit status 0)" in output
