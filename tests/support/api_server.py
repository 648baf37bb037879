"""The API under a real uvicorn, in a thread (fast) or in a subprocess (whole process)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping

import httpx
import uvicorn

from graphql_api.app import create_app
from marketmanager.settings import Settings
from tests.support.processes import REPO, child_env, free_port, wait_for


class ThreadServer:
    """uvicorn serving `create_app(settings)` on a free loopback port, in a thread
    (without websockets unless `websockets`)."""

    def __init__(self, settings: Settings, *, websockets: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            ws="auto" if websockets else "none",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"api-{self.port}")

    def start(self) -> ThreadServer:
        self.thread.start()
        wait_for(lambda: self.server.started, 30, "uvicorn started")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class ProcessServer:
    """``python -m graphql_api`` against `database_url`, as supervisord would run it."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = child_env(
            DATABASE_URL=database_url, MM_API_PORT=str(self.port), MM_LOG_FORMAT="json", **env
        )
        self.process: subprocess.Popen[str] | None = None
        # a file, not a pipe: a pipe nobody reads would block a busy server's logging
        # (O_APPEND: reading never moves its writes; closed by stop)
        self.log = tempfile.TemporaryFile("a+")  # noqa: SIM115

    def start(self) -> ProcessServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "graphql_api"],
            env=self.env,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_for(self._healthy, 60, f"the API on port {self.port}")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            output = self.output()
            raise AssertionError(f"the API exited with {self.process.returncode}:\n{output}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> str:
        """Stop it (SIGTERM, then SIGKILL) and return what it printed."""
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        output = self.output()
        self.log.close()
        return output

    def output(self) -> str:
        """What it printed so far."""
        self.log.seek(0)
        return self.log.read()


# CI runs the API tests a second time with MM_API_FAST_EXECUTOR=0 (graphql-core's executor)
FAST_EXECUTOR = Settings.from_env(
    {k: v for k, v in os.environ.items() if k == "MM_API_FAST_EXECUTOR"}
).api_fast_executor


def settings_for(database_url: str, overrides: Mapping[str, object]) -> Settings:
    """The settings of a test server: defaults, the executor CI asks for, `overrides`."""
    values = {"api_fast_executor": FAST_EXECUTOR, **overrides}
    return Settings(database_url=database_url, **values).resolved()  # type: ignore[arg-type]


def wait_ready(url: str, timeout: float = 30) -> None:
    """Wait until the API at `url` answers /readyz with 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready")
