"""The worker child (filled in by the daemon issue)."""

from __future__ import annotations

from harvester.child import run_loop, start_child
from harvester.context import ChildContext


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    run_loop(ctx, ctx.settings.tick_seconds, lambda: None)
