"""The control socket of a real harvester: `marketmanager ctl`, and clients that misbehave."""

from __future__ import annotations

import json
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.server import SimulatorServer
from tests.support.daemon import Harvester, harvester_env, holds, wait_for_state
from tests.support.processes import marketmanager, wait_for
from tests.support.rows import HOUR, Conn, add_exchange, mark_harvested, run_by_id, runs_of


@pytest.fixture
def harvester(db_url: str, tmp_path: Path) -> Iterator[Harvester]:
    with Harvester(db_url, tmp_path / "node") as node:
        node.wait_ready()
        yield node


def _run_id(output: str) -> int:
    """The run id in ctl's ``binance: run 7 queued`` line."""
    return int(output.split()[2])


def test_pause_lets_the_running_run_finish_and_holds_new_ones_until_resume(
    conn: Conn, sim: SimulatorServer, harvester: Harvester
) -> None:
    exchange_id = add_exchange(conn, "binance", sim.exchange_url("binance"), interval_seconds=HOUR)
    mark_harvested(conn, exchange_id)  # no scheduled run for an hour: only ours
    sim.simulator.set_faults({"latency": 1.0}, exchange="binance")

    queued = harvester.request({"cmd": "run", "exchange": "binance"})
    assert queued["ok"] and queued["created"], queued
    first = int(queued["run"]["id"])
    wait_for_state(conn, first, "RUNNING", 30)

    paused = harvester.ctl("pause")
    assert paused.returncode == 0, paused.stderr
    assert "(paused)" in paused.stdout
    assert harvester.status()["paused"] is True
    # the run in flight is not interrupted
    wait_for(lambda: run_by_id(conn, first)["state"] != "RUNNING", 30, "the running run to end")
    assert run_by_id(conn, first)["state"] == "SUCCEEDED"
    sim.simulator.clear_faults()

    again = harvester.ctl("run", "binance")
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith(" queued\n") and "already" not in again.stdout
    second = _run_id(again.stdout)
    assert second != first
    # asked twice, the exchange still has one run: the one already queued
    twice = harvester.ctl("run", "binance")
    assert twice.returncode == 0, twice.stderr
    assert "already queued" in twice.stdout and _run_id(twice.stdout) == second
    assert [r["state"] for r in runs_of(conn, "binance")][-1:] == ["QUEUED"]

    # paused: nothing claims it (workers look every half second)
    holds(lambda: run_by_id(conn, second)["state"] == "QUEUED", 3, "the queued run waiting")

    resumed = harvester.ctl("resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "(running)" in resumed.stdout and harvester.status()["paused"] is False
    wait_for(lambda: run_by_id(conn, second)["state"] == "SUCCEEDED", 30, "the run after resume")
    done = run_by_id(conn, second)
    assert done["trigger"] == "MANUAL" and done["markets_count"] == 200


def _answer_garbage(listener: socket.socket) -> None:
    listener.settimeout(30)
    connection, _ = listener.accept()
    with connection:
        connection.recv(1024)
        connection.sendall(b"<html>not a harvester</html>\n")


def _check_ctl_errors(db_url: str, tmp_path: Path, harvester: Harvester) -> None:
    """`marketmanager ctl` without a harvester, with a stale socket, with a bad name."""
    nowhere = harvester_env(db_url, tmp_path / "nowhere")
    absent = marketmanager("ctl", "status", env=nowhere)
    assert absent.returncode == 1
    assert "the harvester is not running" in absent.stderr
    assert "Traceback" not in absent.stderr

    # a socket file left behind by a dead harvester: nobody listens on it
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as leftover:
        leftover.bind(str(stale))
    refused = marketmanager("ctl", "status", env={**nowhere, "MM_CONTROL_SOCKET": str(stale)})
    assert refused.returncode == 1
    assert "the harvester is not running" in refused.stderr

    # something that answers, but not with JSON
    garbled = tmp_path / "garbled.sock"
    with socket.socket(socket.AF_UNIX) as impostor:
        impostor.bind(str(garbled))
        impostor.listen()
        thread = threading.Thread(target=_answer_garbage, args=(impostor,), daemon=True)
        thread.start()
        confused = marketmanager(
            "ctl", "status", env={**nowhere, "MM_CONTROL_SOCKET": str(garbled)}
        )
        thread.join(10)
    assert confused.returncode == 1
    assert "cannot talk to the harvester" in confused.stderr
    assert "Traceback" not in confused.stderr

    unknown = harvester.ctl("run", "nosuchexchange")
    assert unknown.returncode == 1
    assert "unknown exchange 'nosuchexchange'" in unknown.stderr
    assert harvester.ctl("run").returncode == 2  # `run` needs a name

    status = harvester.ctl("status")
    assert status.returncode == 0, status.stderr
    assert "worker-2" in status.stdout and "DEAD" not in status.stdout


class Client:
    """A raw connection to the control socket."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(str(path))
        self.stream = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> dict[str, Any] | None:
        """The next reply line, or None when the server closed the connection."""
        try:
            line = self.stream.readline()
        except ConnectionResetError:
            return None
        if not line:
            return None
        reply = json.loads(line)
        assert isinstance(reply, dict)
        return reply

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


def _status_answers(harvester: Harvester) -> None:
    reply = harvester.request({"cmd": "status"}, timeout=5)
    assert reply["ok"] is True and reply["node"]


def test_ctl_errors_and_abusive_clients_leave_the_socket_serving(
    db_url: str, tmp_path: Path, harvester: Harvester
) -> None:
    mode = harvester.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600

    # clients that connect and say nothing, held open while everything else goes on
    silent = [Client(harvester.socket_path) for _ in range(20)]
    try:
        _status_answers(harvester)
        _check_ctl_errors(db_url, tmp_path, harvester)
        _status_answers(harvester)

        client = Client(harvester.socket_path)
        for line, problem in [
            (b"garbage\n", "not JSON"),
            (b"\xff\xfe\n", "not JSON"),
            (b"[1, 2, 3]\n", "JSON object"),
            (b'"status"\n', "JSON object"),
            (b'{"cmd": "reboot"}\n', "unknown command"),
            (b'{"cmd": "run"}\n', '"run" needs'),
        ]:
            client.send(line)
            reply = client.reply()
            assert reply is not None and reply["ok"] is False, line
            assert problem in reply["error"], (line, reply)
        # the same connection still serves a good request after the bad ones
        client.send(b'{"cmd": "status"}\n')
        good = client.reply()
        assert good is not None and good["ok"] is True
        client.close()
        _status_answers(harvester)

        huge = Client(harvester.socket_path)
        try:
            huge.send(b'{"cmd": "status", "pad": "' + b"x" * (100 * 1024) + b'"}\n')
            oversized = huge.reply()
        except (BrokenPipeError, ConnectionResetError):
            oversized = None  # closed while we were still sending: also a refusal
        if oversized is not None:
            assert oversized["ok"] is False and "longer than" in oversized["error"]
            assert huge.reply() is None  # and the connection is closed
        huge.close()
        _status_answers(harvester)

        half = Client(harvester.socket_path)
        half.send(b'{"cmd": "sta')  # a partial line, then the client goes away
        half.close()
        _status_answers(harvester)

        replies: list[dict[str, Any]] = []
        errors: list[BaseException] = []

        def one_client() -> None:
            try:
                replies.append(harvester.request({"cmd": "status"}, timeout=30))
            except BaseException as error:
                errors.append(error)

        crowd = [threading.Thread(target=one_client) for _ in range(50)]
        for thread in crowd:
            thread.start()
        for thread in crowd:
            thread.join(60)
        assert not errors, errors[:3]
        assert len(replies) == 50 and all(reply["ok"] for reply in replies)
        _status_answers(harvester)

        # the silent clients are dropped after the idle timeout, with a word why
        dropped = silent[0].reply()
        assert dropped is not None and dropped["ok"] is False, dropped
        assert "no request" in dropped["error"]
        assert silent[0].reply() is None
    finally:
        for client in silent:
            client.close()
    _status_answers(harvester)
