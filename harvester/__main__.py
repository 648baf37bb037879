"""`python -m harvester`: the composition root of one harvester node."""

from __future__ import annotations

import sys
from typing import Any

import structlog

from harvester import node
from harvester.context import ChildContext
from harvester.tree import Child, ProcessTree
from harvester.tree_state import ChildSlots
from marketmanager import db
from marketmanager.errors import UserFacingError
from marketmanager.logging import configure_logging
from marketmanager.migrations import require_migrated
from marketmanager.reconnect import LongLivedConnection
from marketmanager.settings import Settings

log = structlog.get_logger()


def build_children(settings: Settings) -> list[Child]:
    # Every child is forked from the forkserver, which imported every role's module (and
    # ccxt, for workers and backfill) once: their pages are shared, not copied into each.
    children = [
        Child("scheduler", "harvester.scheduler.process"),
        Child("poller", "harvester.poller.process"),
        Child("control", "harvester.control.server"),
        Child("backfill", "harvester.candles.lane"),  # apart from the workers
    ]
    children += [Child(f"worker-{n}", "harvester.worker") for n in range(1, settings.pool_size + 1)]
    return children


def main() -> int:
    try:
        settings = Settings.from_env()
        configure_logging("harvester", settings.log_format)
        url = db.database_url(settings)
        conn = db.connect(url, autocommit=True)
        require_migrated(conn)
    except UserFacingError as error:
        print(f"harvester: error: {error}", file=sys.stderr)
        return 2
    node_id = node.new_node_id()
    structlog.contextvars.bind_contextvars(node=node_id)
    node.register(conn, node_id, settings.pool_size)

    def make_context(name: str, stop: Any, children: ChildSlots) -> ChildContext:
        return ChildContext(name, node_id, url, settings, stop, children)

    link = node.NodeLink(LongLivedConnection(url, conn), node_id, settings.pool_size)
    tree = ProcessTree(
        build_children(settings),
        make_context,
        grace=settings.shutdown_grace,
        on_beat=link.beat,
        # several beats per MM_STALE_AFTER, or the other nodes take this one for dead
        beat_every=min(2.0, settings.stale_after / 3),
    )
    log.info("harvester.started", pool_size=settings.pool_size)
    try:
        code = tree.run()
    finally:
        link.leave()
    log.info("harvester.stopped", exitcode=code)
    return code


if __name__ == "__main__":
    sys.exit(main())
