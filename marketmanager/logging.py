"""structlog, configured once per process: JSON to stdout unless on a TTY."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import structlog


class StdoutLogger(structlog.PrintLogger):
    """Writes each event to the current sys.stdout as one line in one write.

    The children of a harvester share one stdout: a line written in pieces (print's
    text, then its newline) interleaves with another process's and breaks both JSON
    lines. On the process's real stdout the line goes out in a single ``write(2)``,
    which the kernel keeps whole on a pipe (up to PIPE_BUF) or an O_APPEND file. A
    closed pipe (an orphan whose supervisor has gone) loses the line instead of
    raising into the code that logged it.
    """

    def msg(self, message: str) -> None:
        line = message + "\n"
        with contextlib.suppress(BrokenPipeError):
            if sys.stdout is sys.__stdout__ and sys.stdout is not None:
                sys.stdout.flush()
                os.write(sys.stdout.fileno(), line.encode("utf-8", "replace"))
            else:  # replaced (tests, a REPL): let its owner have it
                sys.stdout.write(line)
                sys.stdout.flush()

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
