"""Copy one file descriptor to another, as one writer, until the source ends.

`marketmanager up` runs supervisord with its stdout on a pipe and relays that pipe to
its own stdout. supervisord writes every program's output (and its own) into the pipe
from one thread, so the pipe holds whole writes in order, and the relay is the only
writer of `up`'s stdout: no line is lost or overwritten, whether that stdout is a file,
a pipe, a terminal or a socket. (Without it, supervisord reopens /dev/stdout for the
programs: a redirected file gets a second offset, and lines overwrite each other.)
"""

from __future__ import annotations

import os

CHUNK = 1 << 16


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def relay(source: int, sink: int) -> None:
    """Copy `source` to `sink` until end of file. When `sink` breaks (a reader that went
    away), keep draining `source` so that the writer never blocks on a full pipe."""
    sink_open = True
    while chunk := os.read(source, CHUNK):
        if sink_open:
            try:
                write_all(sink, chunk)
            except OSError:
                sink_open = False
