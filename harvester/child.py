"""The start of every child process: logging, signals, and noticing an orphaned life."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable

import structlog

from harvester.context import ChildContext
from marketmanager.logging import configure_logging

# A child that exits with this code asks its parent for a fresh one (a worker whose run
# was taken away): the parent restarts it at once and does not count it as a failure.
REPLACE_ME_EXIT = 3


def start_child(ctx: ChildContext) -> None:
    """Configure the child; its parent alone decides when it stops (through ctx.stop)."""
    configure_logging(ctx.name, ctx.settings.log_format)
    structlog.contextvars.bind_contextvars(node=ctx.node_id)
    # supervisord signals the whole process group; the parent turns that into ctx.stop.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def parent_alive() -> bool:
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()


def should_stop(ctx: ChildContext) -> bool:
    """True once the parent asked to stop, or died (kill -9) and left this child behind."""
    return ctx.stop.is_set() or not parent_alive()


def run_loop(ctx: ChildContext, every: float, step: Callable[[], object]) -> None:
    """Call `step` every `every` seconds until the child should stop."""
    while not should_stop(ctx):
        step()
        ctx.stop.wait(every)
