"""The embedded PostgreSQL: started when DATABASE_URL is unset, shared, persistent."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketmanager import db
from marketmanager.embedded import embedded_data_path, stop_embedded
from tests.support.processes import child_env, marketmanager

PRINT_URL = (
    "from marketmanager import db; from marketmanager.settings import Settings; "
    "print(db.database_url(Settings.from_env()))"
)


def _postmaster_pid(data_dir: Path) -> int:
    return int((embedded_data_path(data_dir) / "postmaster.pid").read_text().split()[0])


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    stop_embedded(path)


def test_embedded_server_is_started_reused_and_keeps_its_data(data_dir: Path) -> None:
    env = child_env(MM_DATA_DIR=str(data_dir))
    migrated = marketmanager("migrate", env=env, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    first_pid = _postmaster_pid(data_dir)

    second = subprocess.run(
        [sys.executable, "-c", PRINT_URL], env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    url = second.stdout.strip()
    assert f"host={embedded_data_path(data_dir)}" in url  # a UNIX socket in the data dir
    assert _postmaster_pid(data_dir) == first_pid, "the second process reused the server"
    with db.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO exchanges (name) VALUES ('kept')")

    stop_embedded(data_dir)
    assert not (embedded_data_path(data_dir) / "postmaster.pid").exists()

    again = marketmanager("migrate", env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    assert _postmaster_pid(data_dir) != first_pid, "a new server was started"
    with db.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT name FROM exchanges").fetchone()
    assert row == {"name": "kept"}
