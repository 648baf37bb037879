"""What the benchmark scripts share: a scratch database, timing, the final ratio line.

The scripts run as ``python bench/NAME.py`` (so this package is importable as
``benchkit``) against ``DATABASE_URL``, or the embedded server when it is unset.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

from marketmanager import db  # noqa: E402
from marketmanager.migrations import migrate  # noqa: E402
from marketmanager.settings import Settings  # noqa: E402

# Only the figures on stdout: no per-run log lines.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@contextmanager
def simulator_process(markets: int) -> Iterator[str]:
    """The simulator on a free loopback port in a child process; yields its URL."""
    command = [sys.executable, "-m", "simulator", "--port", "0", "--markets"]
    child = subprocess.Popen(
        [*command, str(markets), "--seed", "1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MM_LOG_FORMAT": "json"},
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            event = json.loads(line)
            if event.get("event") == "simulator.listening":
                # read what it logs from now on, so that a full pipe never blocks it
                threading.Thread(target=child.stdout.read, daemon=True).start()
                yield str(event["url"])
                break
        else:
            raise RuntimeError("the simulator exited before listening")
    finally:
        child.terminate()
        child.wait(timeout=30)


def plain_ccxt(name: str, api_url: str) -> Any:
    """A plain sync ccxt instance of `name` pointed at `api_url`, rate limiter off,
    markets loaded: the baseline of the harvest benchmarks."""
    import ccxt

    from harvester.harvest.adapter import rewrite_api_urls

    exchange = getattr(ccxt, name)({"enableRateLimit": False, "timeout": 60_000})
    exchange.urls["api"] = rewrite_api_urls(exchange.urls["api"], api_url)
    exchange.load_markets()
    return exchange


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, migrated database on the configured server; dropped on the way out."""
    server = db.database_url(Settings.from_env())
    with db.scratch_database(server, prefix) as url:
        with db.connect(url) as conn:
            migrate(conn)
        yield url


class Stopwatch:
    """Accumulates the time spent inside ``with stopwatch:`` blocks.

    Each block starts with an empty garbage heap, so that a full collection of what the
    previous block (often the other side of the comparison) left behind is not charged
    to this one."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        gc.collect()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds += time.perf_counter() - self._started


def report(label: str, count: int, seconds: float, unit: str) -> float:
    rate = count / seconds
    print(f"{label}: {count} {unit} in {seconds:.2f} s = {rate:,.0f} {unit}/s")
    return rate


def print_ratio(ours: float, baseline: float) -> None:
    """The last line of every benchmark: ours over the baseline, higher is better."""
    print(f"ratio: {ours / baseline:.2f}")
