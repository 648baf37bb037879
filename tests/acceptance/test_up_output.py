"""`marketmanager up > file` and `marketmanager up | reader`: every line arrives whole.

supervisord used to reopen /dev/stdout for the programs' output, with a file offset of
its own: in a redirected file its lines and theirs overwrote each other."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from simulator.server import SimulatorServer
from tests.support.daemon import Supervised
from tests.support.processes import wait_for
from tests.support.rows import Conn, add_exchange, runs_of

# supervisord's own lines: "2026-12-01 14:00:00,123 INFO spawned: 'api' with pid 42"
SUPERVISORD_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S")
SUCCEEDED_RUNS = 6


def _classify(lines: list[str]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(JSON events, supervisord lines, anything else)."""
    events, supervisord, other = [], [], []
    for line in lines:
        if SUPERVISORD_LINE.match(line):
            supervisord.append(line)
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            other.append(line)
            continue
        (events if isinstance(event, dict) and "event" in event else other).append(event)
    return events, supervisord, other


@pytest.mark.parametrize("target", ["file", "pipe"])
def test_every_line_of_up_survives_a_redirect(
    target: str, conn: Conn, sim: SimulatorServer, db_url: str, tmp_path: Path
) -> None:
    for name in ("binance", "kraken"):
        add_exchange(conn, name, sim.exchange_url(name), interval_seconds=1)
    supervised = Supervised(db_url, tmp_path / "data")
    out_path = tmp_path / "up.log"
    chunks: list[bytes] = []
    with out_path.open("wb") as out_file:  # `>`: truncated, not O_APPEND
        supervised.start(stdout=out_file if target == "file" else subprocess.PIPE)
    up = supervised.process
    assert up is not None
    reader = None
    if up.stdout is not None:
        pipe = up.stdout
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: pipe.read(4096), b"")))
        reader.start()
    try:
        supervised.wait_running("harvester")
        supervised.wait_running("api")
        wait_for(
            lambda: sum(r["state"] == "SUCCEEDED" for r in runs_of(conn)) >= SUCCEEDED_RUNS,
            120,
            f"{SUCCEEDED_RUNS} harvests",
        )
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
    finally:
        supervised.stop()
    if reader is not None:
        reader.join(30)
        assert up.stdout is not None
        up.stdout.close()
    output = b"".join(chunks) if target == "pipe" else out_path.read_bytes()
    assert output.endswith(b"\n"), output[-200:]
    events, supervisord, other = _classify(output.decode().splitlines())
    assert other == [], other[:5]

    for expected in (
        "spawned: 'harvester'",
        "spawned: 'api'",
        "stopped: harvester (exit status 0)",
    ):
        assert any(expected in line for line in supervisord), (expected, supervisord)
    names = [e["event"] for e in events]
    assert names.count("harvester.started") == 1 and names.count("harvester.stopped") == 1
    finished = {e["run_id"] for e in events if e["event"] == "run.finished"}
    claimed = {e["run_id"] for e in events if e["event"] == "run.claimed"}
    ended = {r["id"] for r in runs_of(conn) if r["state"] in ("SUCCEEDED", "FAILED")}
    assert len(ended) >= SUCCEEDED_RUNS
    assert finished == ended, "a run.finished line is missing"
    assert ended <= claimed, "a run.claimed line is missing"
