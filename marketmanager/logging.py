"""structlog, configured once per process: JSON to stdout unless on a TTY."""

from __future__ import annotations

import contextlib
import logging
import sys

import structlog


class StdoutLogger(structlog.PrintLogger):
    """Prints to the current sys.stdout; a closed pipe (an orphan whose supervisor has
    gone) loses the line instead of raising into the code that logged it."""

    def msg(self, message: str) -> None:
        with contextlib.suppress(BrokenPipeError):
            super().msg(message)

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


def configure_logging(process: str, log_format: str | None = None) -> None:
    """Configure structlog for this process and bind ``process`` to every event.

    `log_format` is ``json`` or ``console``; None picks console on a TTY, JSON otherwise.
    """
    fmt = log_format or ("console" if sys.stdout.isatty() else "json")
    renderer: structlog.types.Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=lambda *args: StdoutLogger(),
        # Not cached: a logger follows the current sys.stdout (pytest swaps it per test).
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(process=process)
