"""The `control` child: a UNIX-socket server (mode 0600) answering status / pause /
resume / run / drain for this node (its client is `harvester.control.client`).

Each client gets its own task: bad JSON or an unknown command gets an error reply and
the connection stays; an oversized line gets an error and a closed connection; a client
that says nothing for IDLE_TIMEOUT seconds is dropped, and so is one that does not read
its replies for WRITE_TIMEOUT seconds (at most asyncio's 64 KiB write buffer waits for
it; then the connection is aborted). None of it stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import psycopg
import structlog

from harvester.child import should_stop, start_child
from harvester.context import ChildContext
from harvester.control import protocol
from harvester.control.commands import Commands, NodeControl
from marketmanager.db import DatabaseUnavailable

log = structlog.get_logger()

IDLE_TIMEOUT = 10.0  # seconds a client may stay silent
WRITE_TIMEOUT = 10.0  # seconds a reply may wait for a client that does not read


class ControlServer:
    def __init__(self, control: Commands, path: Path) -> None:
        self.control = control
        self.path = path
        self.lock = asyncio.Lock()  # one database conversation at a time

    async def serve(self, stop: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.unlink(missing_ok=True)
        old_umask = os.umask(0o177)  # the socket is born 0600
        try:
            server = await asyncio.start_unix_server(
                self.client, path=str(self.path), limit=protocol.MAX_LINE
            )
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        ours = self.path.stat().st_ino
        log.info("control.listening", socket=str(self.path))
        async with server:
            while not stop():
                await asyncio.sleep(0.2)
        # An orphan (its parent was killed) may stop after the new tree bound the path:
        # remove the socket only if it is still the one this server made.
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_ino == ours:
                self.path.unlink()

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
                except (asyncio.LimitOverrunError, ValueError):
                    await _send(
                        writer, protocol.error(f"line longer than {protocol.MAX_LINE} bytes")
                    )
                    break
                except TimeoutError:
                    await _send(
                        writer, protocol.error(f"no request for {IDLE_TIMEOUT:.0f} s; closing")
                    )
                    break
                if not line:
                    break
                if line.strip():
                    await _send(writer, await self.answer(line))
        except TimeoutError:
            log.warning("control.client_not_reading", timeout=WRITE_TIMEOUT)
            writer.transport.abort()  # drop its unread replies; no second wait in _close
        except (ConnectionError, BrokenPipeError):
            pass
        finally:
            await _close(writer)

    async def answer(self, line: bytes) -> bytes:
        try:
            request = protocol.parse_request(line)
        except protocol.BadRequest as bad:
            return protocol.error(str(bad))
        async with self.lock:
            try:
                reply = await asyncio.to_thread(self.control.handle, request)
            except protocol.BadRequest as bad:
                return protocol.error(str(bad))
            except (psycopg.Error, DatabaseUnavailable) as failure:
                log.error("control.failed", cmd=request.cmd, error=str(failure))
                return protocol.error(f"database error: {failure}")
        # status is polled by scripts: keep it out of the info log
        report = log.debug if request.cmd == "status" else log.info
        report("control.command", cmd=request.cmd, exchange=request.exchange)
        return protocol.ok(**reply)


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write `data`; TimeoutError when the client leaves it unread for WRITE_TIMEOUT."""
    writer.write(data)
    await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close, flushing what is left; abort when the client does not take it in time."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), WRITE_TIMEOUT)
    except TimeoutError:
        writer.transport.abort()
    except (ConnectionError, BrokenPipeError):
        pass


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    with NodeControl.connect(ctx) as control:
        server = ControlServer(control, ctx.settings.socket_path)
        asyncio.run(server.serve(lambda: should_stop(ctx)))
