"""Control socket abuse (suite 7) beyond tests/acceptance/test_daemon_control.py (garbage,
64 KiB+ lines, silent clients, 50 at once): a client that never reads its replies."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harvester.control.server import WRITE_TIMEOUT
from tests.support.daemon import Harvester
from tests.support.processes import wait_for

pytestmark = pytest.mark.reliability

REQUESTS = 5000  # ~90 KB of requests whose replies overflow every buffer on the way back


@pytest.fixture
def harvester(db_url: str, tmp_path: Path) -> Iterator[Harvester]:
    with Harvester(db_url, tmp_path / "node") as node:
        node.wait_ready()
        yield node


def _hung_up(sock: socket.socket) -> bool:
    """True once the server closed its end (the buffered replies may still be unread)."""
    poller = select.poll()
    poller.register(sock, select.POLLRDHUP)
    return any(events & (select.POLLRDHUP | select.POLLHUP) for _, events in poller.poll(0))


def _crowd_answered(harvester: Harvester, clients: int) -> bool:
    with ThreadPoolExecutor(clients) as pool:
        replies = list(
            pool.map(lambda _: harvester.request({"cmd": "status"}, timeout=30), range(clients))
        )
    return all(reply["ok"] for reply in replies)


def test_a_client_that_never_reads_is_cut_off_while_others_are_served(
    harvester: Harvester,
) -> None:
    hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hog.settimeout(60)
    hog.connect(str(harvester.socket_path))
    sender = threading.Thread(
        target=lambda: hog.sendall(b'{"cmd": "status"}\n' * REQUESTS), daemon=True
    )
    sender.start()
    replies = 0
    try:

        def cut_off() -> bool:
            # the others keep being answered, 50 at once, while the hog holds its replies
            assert _crowd_answered(harvester, 50), "a client went unanswered"
            return _hung_up(hog)

        wait_for(cut_off, WRITE_TIMEOUT + 60, "the server to drop the client that never reads")
        sender.join(30)
        while chunk := hog.recv(1 << 16):
            replies += chunk.count(b"\n")
    except ConnectionResetError:
        pass  # aborted with replies unread: also cut off
    finally:
        hog.close()
    assert replies < REQUESTS, "the server answered everything: nothing was cut off"
    assert harvester.events("control.client_not_reading"), harvester.output()[-2000:]
    assert harvester.status()["ok"]
