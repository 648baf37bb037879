"""The harvester parent: starts its children, keeps them alive, stops them on SIGTERM.

Signal handlers only record the signal; the loop notices it. The first SIGTERM/SIGINT
asks for a graceful stop (children finish within the grace period); a second one ends
everything at once. A child that dies too often makes the parent exit non-zero so that
supervisord restarts the whole tree.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import select
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import structlog

from harvester.child import REPLACE_ME_EXIT, run_role
from harvester.context import ChildContext
from harvester.restarts import RestartHistory
from harvester.tree_state import ChildSlots

log = structlog.get_logger()

MakeContext = Callable[[str, Any, ChildSlots], ChildContext]
SPAWN = multiprocessing.get_context("spawn")
# Children are forked from one forkserver that imported their modules once (ccxt among
# them), then this one (it freezes that heap; see its docstring): each child's own
# memory is what it writes, 6-9 MB before a worker loads markets, where a spawned
# interpreter with psycopg alone holds 27 MB of its own.
FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER_READY = "harvester.forkserver"


@dataclass
class Child:
    name: str
    module: str  # its role: the module whose run(ctx) it runs, imported by the forkserver
    process: BaseProcess | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    history: RestartHistory = field(default_factory=RestartHistory)

    def describe(self) -> dict[str, Any]:
        alive = self.process is not None and self.process.is_alive()
        return {
            "name": self.name,
            "pid": self.process.pid if self.process else None,
            "alive": alive,
            "started_at": self.started_at,
            "restarts": len(self.history.times),
        }


class Signals:
    """Records SIGTERM/SIGINT; restores the previous handlers on `restore()`.

    The handler only counts: it takes no lock (an `Event.set()` there deadlocks when the
    signal lands while the main thread holds the same lock inside `Event.wait()`). The
    loop sleeps in `wait()`, a `select` on the wake-up socket that the interpreter writes
    to (in C, at signal time) through `signal.set_wakeup_fd`.
    """

    def __init__(self) -> None:
        self.received = 0
        self._previous: dict[int, Any] = {}
        self._previous_wakeup = -1
        self._wakeup_reader: socket.socket | None = None
        self._wakeup_writer: socket.socket | None = None

    def install(self) -> None:
        self._wakeup_reader, self._wakeup_writer = socket.socketpair()
        for end in (self._wakeup_reader, self._wakeup_writer):
            end.setblocking(False)
        self._previous_wakeup = signal.set_wakeup_fd(
            self._wakeup_writer.fileno(), warn_on_full_buffer=False
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1

    def wait(self, timeout: float) -> None:
        """Sleep up to `timeout` seconds, or until a signal arrives."""
        if self._wakeup_reader is None:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self._wakeup_reader], [], [], timeout)
        if ready:
            with contextlib.suppress(BlockingIOError):
                self._wakeup_reader.recv(4096)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_wakeup)
        for end in (self._wakeup_reader, self._wakeup_writer):
            if end is not None:
                end.close()
        self._wakeup_reader = self._wakeup_writer = None


class ProcessTree:
    """The children of one harvester node and the loop that watches them."""

    def __init__(
        self,
        children: list[Child],
        make_context: MakeContext,
        *,
        grace: float,
        on_beat: Callable[[list[dict[str, Any]]], bool],
        beat_every: float = 2.0,
    ) -> None:
        self.children = children
        self.stop_event = SPAWN.Event()
        self.make_context = make_context
        self.grace = grace
        self.on_beat = on_beat
        self.beat_every = beat_every
        self.signals = Signals()
        self.slots = ChildSlots([child.name for child in children])
        preload = [child.module for child in children]
        FORKSERVER.set_forkserver_preload([*dict.fromkeys(preload), FORKSERVER_READY])

    def _start(self, child: Child) -> None:
        context = self.make_context(child.name, self.stop_event, self.slots)
        process = FORKSERVER.Process(target=run_role, args=(child.module, context), name=child.name)
        process.start()
        child.process, child.started_at, child.restart_at = process, time.time(), None
        self._publish(child)
        log.info("child.started", child=child.name, pid=process.pid)

    def _publish(self, child: Child) -> None:
        """Tell the control child about `child` now (see harvester.tree_state)."""
        self.slots.record(
            self.children.index(child),
            pid=child.process.pid if child.process else None,
            restarts=len(child.history.times),
            started_at=child.started_at,
        )

    def processes(self) -> list[dict[str, Any]]:
        return [child.describe() for child in self.children]

    def run(self) -> int:
        """Run until a signal, or until `on_beat` returns True (the node is drained).

        The exit code for the parent: 0 after a graceful stop, 1 when a child could not
        be kept alive."""
        self.signals.install()
        try:
            for child in self.children:
                self._start(child)
            code = self._watch()
            if code == 0:
                self._stop_gracefully()
            else:
                self._kill_all()
            return code
        finally:
            self.signals.restore()

    def _watch(self) -> int:
        next_beat = 0.0
        while self.signals.received == 0:
            now = time.time()
            for child in self.children:
                if self._tend(child, now) is False:
                    return 1
            if now >= next_beat:
                if self.on_beat(self.processes()):
                    log.info("tree.drained")
                    return 0
                next_beat = now + self.beat_every
            self.signals.wait(0.2)
        return 0

    def _tend(self, child: Child, now: float) -> bool:
        """Restart `child` if it died; False when it cannot be kept alive."""
        if child.process is not None and child.process.is_alive():
            return True
        if child.restart_at is None:
            code = child.process.exitcode if child.process else None
            if code == REPLACE_ME_EXIT:  # asked to be replaced: not a failure
                log.info("child.replaced", child=child.name)
                child.restart_at = now
            elif child.history.give_up(now):
                log.error("child.gave_up", child=child.name, exitcode=code)
                return False
            else:
                delay = child.history.record(now)
                child.restart_at = now + delay
                self._publish(child)
                log.warning("child.died", child=child.name, exitcode=code, restart_in=delay)
        if now >= child.restart_at:
            self._start(child)
        return True

    def _stop_gracefully(self) -> None:
        log.info("tree.stopping", grace=self.grace)
        self.stop_event.set()
        deadline = time.time() + self.grace
        for child in self.children:
            if child.process is None:
                continue
            while child.process.is_alive() and time.time() < deadline:
                if self.signals.received > 1:  # a second signal: stop at once
                    self._kill_all()
                    return
                child.process.join(0.2)
        self._kill_all()

    def _kill_all(self) -> None:
        for child in self.children:
            if child.process is not None and child.process.is_alive():
                log.warning("child.killed", child=child.name, pid=child.process.pid)
                child.process.kill()
        for child in self.children:
            if child.process is not None:
                child.process.join(5)
