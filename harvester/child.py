"""The start of every child process: logging, signals, and noticing an orphaned life."""

from __future__ import annotations

import importlib
import multiprocessing
import signal
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import structlog

from harvester.context import ChildContext
from marketmanager import db
from marketmanager.logging import configure_logging
from marketmanager.reconnect import LongLivedConnection, Outage, connection_lost

T = TypeVar("T")

# A child that exits with this code asks its parent for a fresh one (a worker whose run
# was taken away): the parent restarts it at once and does not count it as a failure.
REPLACE_ME_EXIT = 3


def run_role(module: str, ctx: ChildContext) -> None:
    """Import `module` in this child and call its ``run(ctx)``: every child's target. The
    parent never imports a role's module (ccxt: ~80 MB); the child finds it imported
    already by the forkserver it was forked from (harvester.tree)."""
    importlib.import_module(module).run(ctx)


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


def run_connected(
    ctx: ChildContext,
    database: LongLivedConnection,
    make_step: Callable[[psycopg.Connection[Any]], Callable[[], T]],
    pause: Callable[[T], float],
) -> None:
    """Call a step, then wait `pause(result)` seconds, until the child should stop.

    The step is made by `make_step` for one connection, and made again for the next one
    when the database went away and came back (so nothing held by the old session, e.g.
    an advisory lock, is taken for granted). While the database is away the child
    waits and tries again (`Outage`); it neither dies nor gives up."""
    outage = Outage()
    step: Callable[[], T] | None = None
    made_for: psycopg.Connection[Any] | None = None
    while not should_stop(ctx):
        try:
            with database.connection() as conn:
                if step is None or conn is not made_for:
                    step, made_for = make_step(conn), conn
                result = step()
        except (psycopg.Error, db.DatabaseUnavailable) as error:
            if not connection_lost(error, made_for):
                raise
            ctx.stop.wait(outage.failed(error))
            continue
        outage.ended()
        ctx.stop.wait(pause(result))
