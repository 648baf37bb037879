"""Real harvester processes for acceptance tests: nodes, supervisord, their logs, the database.

Every process is started in a session of its own; leaving a `Harvester` or `Supervised`
block (even on a failed assertion) kills whatever is left in that session, so nothing
outlives a test. The settings are short, so that crashes, retries and schedules show
within seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx

from harvester.control.client import NotRunning, request
from tests.support.processes import BIN, REPO, child_env, free_port, kill_session, wait_for
from tests.support.rows import Conn, run_by_id

# Short timings for tests: a run without a heartbeat for 4 s crashes, one past 8 s times
# out, a stopped node gives its runs 3 s to finish.
FAST = {
    "MM_TICK_SECONDS": "0.5",
    "MM_STALE_AFTER": "4",
    "MM_RUN_TIMEOUT": "8",
    "MM_SHUTDOWN_GRACE": "3",
    "MM_POOL_SIZE": "2",
    "MM_REQUEST_TIMEOUT": "5",
    "MM_MAX_ATTEMPTS": "5",
    "MM_LOG_FORMAT": "json",
}


def harvester_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a harvester (or `marketmanager …`) for this test's database."""
    return child_env(DATABASE_URL=database_url, MM_DATA_DIR=str(data_dir), **{**FAST, **overrides})


def try_status(socket_path: Path) -> dict[str, Any] | None:
    """The node's status reply, or None while nothing (or nothing sane) answers."""
    try:
        reply = request(socket_path, {"cmd": "status"}, timeout=5)
    except (NotRunning, OSError, ValueError):
        return None
    return reply if reply.get("ok") else None


def read_events(path: Path) -> list[dict[str, Any]]:
    """The JSON log lines written to `path` (other lines, e.g. tracebacks, are skipped)."""
    events = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


class _Session:
    """One process started in a new session, its output in a file; killed on exit."""

    def __init__(self, command: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.command = command
        self.env = dict(env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, stdout: int | IO[bytes] | None = None) -> None:
        """Start the process; its output goes to `stdout` if given, else to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log if stdout is None else stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        found = read_events(self.log_path) if self.log_path.exists() else []
        return [e for e in found if event is None or e.get("event") == event]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self.kill_all()

    def kill_all(self) -> None:
        """SIGKILL everything left in the session (the process and all its descendants)."""
        if self.process is None:
            return
        kill_session(self.process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):  # a zombie we cannot reap
            self.process.wait(10)


class Harvester(_Session):
    """``python -m harvester``: one node, with its own data dir and control socket."""

    def __init__(self, database_url: str, data_dir: Path, **overrides: str) -> None:
        env = harvester_env(database_url, data_dir, **overrides)
        env.setdefault("MM_CONTROL_SOCKET", str(data_dir / "run" / "harvester.sock"))
        super().__init__([sys.executable, "-m", "harvester"], env, data_dir / "harvester.log")
        self.socket_path = Path(env["MM_CONTROL_SOCKET"])

    def request(self, payload: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        return request(self.socket_path, payload, timeout)

    def status(self) -> dict[str, Any]:
        reply = self.request({"cmd": "status"})
        assert reply["ok"], reply
        return reply

    def try_status(self) -> dict[str, Any] | None:
        return try_status(self.socket_path)

    def wait_ready(self, timeout: float = 60) -> dict[str, Any]:
        """Wait until the socket answers and the status lists every child alive."""

        def ready() -> dict[str, Any] | None:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the harvester exited early:\n{self.output()[-3000:]}")
            status = self.try_status()
            if status and status["processes"] and all(p["alive"] for p in status["processes"]):
                return status
            return None

        result = wait_for(ready, timeout, "the harvester to answer with all children alive")
        assert isinstance(result, dict)
        return result

    def pids(self) -> dict[str, int]:
        """Child name → pid, as the node reports them."""
        return {p["name"]: p["pid"] for p in self.status()["processes"]}

    def node_id(self) -> str:
        return str(self.status()["node"])

    def ctl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """``marketmanager ctl …`` against this node's socket."""
        return subprocess.run(
            [str(BIN / "marketmanager"), "ctl", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


class Supervised(_Session):
    """``marketmanager up``: supervisord in the foreground with the api and the harvester."""

    def __init__(self, database_url: str, data_dir: Path, **overrides: str) -> None:
        env = harvester_env(database_url, data_dir, MM_API_PORT=str(free_port()), **overrides)
        super().__init__([str(BIN / "marketmanager"), "up"], env, data_dir / "supervisord.out")
        self.data_dir = data_dir
        self.socket_path = data_dir / "run" / "harvester.sock"

    def stop(self) -> None:
        """SIGTERM supervisord and wait for it, then make sure nothing is left."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.signal(signal.SIGTERM)
                self.wait(40)
        except subprocess.TimeoutExpired:
            pass
        finally:
            self.kill_all()

    def supervisorctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(BIN / "supervisorctl"),
                "-c",
                "supervisord.conf",
                "-s",
                f"unix://{self.data_dir}/supervisord.sock",
                *args,
            ],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def program_state(self, program: str) -> str:
        """RUNNING, STARTING, EXITED, … (or "" while supervisord does not answer)."""
        words = self.supervisorctl("status", program).stdout.split()
        return words[1] if len(words) > 1 and words[0] == program else ""

    def request(self, payload: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        return request(self.socket_path, payload, timeout)

    def wait_control(self, timeout: float = 30) -> dict[str, Any]:
        """Wait until the harvester's control socket answers; its status."""
        status = wait_for(lambda: try_status(self.socket_path), timeout, "the control socket")
        assert isinstance(status, dict)
        return status

    def program_pid(self, program: str) -> int:
        return int(self.supervisorctl("pid", program).stdout.strip())

    def api_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.env['MM_API_PORT']}{path}"

    def api_ready(self) -> bool:
        """True when the api answers 200 on /readyz."""
        try:
            return httpx.get(self.api_url("/readyz"), timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_running(self, program: str, timeout: float = 60) -> int:
        """Wait until `program` is RUNNING; its pid."""
        wait_for(
            lambda: self.program_state(program) == "RUNNING", timeout, f"{program} to be RUNNING"
        )
        return self.program_pid(program)


# ---------------------------------------------------------------- the database


def wait_for_state(conn: Conn, run_id: int, state: str, timeout: float) -> dict[str, Any]:
    """Wait until run `run_id` is in `state`; the run."""
    wait_for(
        lambda: run_by_id(conn, run_id)["state"] == state, timeout, f"run {run_id} to be {state}"
    )
    return run_by_id(conn, run_id)


def wait_for_retry(conn: Conn, run_id: int, timeout: float) -> dict[str, Any]:
    """Wait until run `run_id` has a RETRY run; that run."""
    found = wait_for(
        lambda: conn.execute(
            "SELECT * FROM harvest_runs WHERE retry_of = %s", (run_id,)
        ).fetchone(),
        timeout,
        f"a retry of run {run_id}",
    )
    assert isinstance(found, dict)
    return found


def holds(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Assert that `condition` stays truthy for `seconds` (checked every 0.1 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition(), f"{what} stopped holding"
        time.sleep(0.1)
