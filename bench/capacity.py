"""Capacity: the real harvester process tree against as many processes of ccxt alone.

The simulator (``python -m simulator``) serves M markets per exchange. E exchanges are
harvested from it: binance, binanceus (binance's wire format) and kraken, the only ccxt
ids the simulator really serves (an exchange's name is its ccxt id, and unique, so E is
at most 3), every INTERVAL seconds (the shortest the schema allows: 1).

Ours: ``python -m harvester`` (scheduler, poller, control, backfill and a pool of POOL
workers, as in production; ccxt's rate limiter off, as for the baseline) against a
scratch migrated database. After a warm-up (the first runs, each worker loading
markets) it is watched for SECONDS: the tickers/s written by the runs that finished in
that window; how late each SCHEDULE run started in it (``started_at`` minus when it
was due: its exchange's previous run's ``finished_at`` + interval), and how long it
waited in the queue (``started_at - queued_at``); the peak RSS of the whole tree (the
sum of VmRSS over its processes, sampled from /proc; PSS too, which counts a shared
page once).

Baseline: ccxt alone doing the same job: plain sync ccxt instances of the same
exchanges (markets loaded before timing), each fetching and parsing its tickers, then
again INTERVAL seconds after that fetch ended (the harvest's schedule, without its
scheduler, queue or write), the exchanges spread over POOL processes as runs are over
the workers; for SECONDS, once before and once after ours (the mean, against drift on
a shared machine). So the ratio is what the harvester loses to its own overhead:
scheduling and claiming gaps, the write, and the CPU it spends besides ccxt.

Prints both rates and ``ratio: ours/baseline`` last.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import REPO, plain_ccxt, print_ratio, report, scratch_database, simulator_process

from marketmanager import db

EXCHANGES = (("binance", "binance"), ("binanceus", "binance"), ("kraken", "kraken"))
SPAWN = multiprocessing.get_context("spawn")


# ------------------------------------------------------------------ memory, from /proc


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry))
    return children


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants."""
    children = _children_of()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def helper_name(pid: int) -> str:
    """What multiprocessing started `pid` as (its forkserver, its resource tracker)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return str(pid)
    for helper in ("forkserver", "resource_tracker"):
        if f"multiprocessing.{helper} import main" in command:
            return helper
    return str(pid)


def _kilobytes(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class MemorySampler:
    """Samples the RSS and PSS sums of a process tree until stopped; keeps the peaks."""

    root: int
    every: float = 0.25
    peak_rss_kb: int = 0
    peak_pss_kb: int = 0
    peak_processes: dict[int, int] = field(default_factory=dict)  # pid → RSS kB at the peak
    helpers: dict[int, str] = field(default_factory=dict)  # pid → multiprocessing's helper
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            rss = {pid: _kilobytes(f"/proc/{pid}/status", "VmRSS:") for pid in tree_pids(self.root)}
            total = sum(rss.values())
            if total > self.peak_rss_kb:
                self.peak_rss_kb, self.peak_processes = total, rss
                for pid in rss.keys() - self.helpers.keys():
                    self.helpers[pid] = helper_name(pid)
            pss = sum(_kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)


# ------------------------------------------------------------------ the baseline


def baseline_process(
    sim_url: str, exchanges: list[tuple[str, str]], interval: float, seconds: float, pipes: Any
) -> None:
    """ccxt alone for `exchanges`, markets loaded: each fetched and parsed, then again
    `interval` seconds after the previous fetch ended (its harvest's schedule), for `seconds`."""
    ready, go, counts = pipes
    instances = [plain_ccxt(name, f"{sim_url}/{wire}") for name, wire in exchanges]
    ready.put(len(instances))
    go.wait()
    start = time.monotonic()
    end = start + seconds
    due = [start] * len(instances)
    fetched = 0
    while True:
        turn = min(range(len(instances)), key=due.__getitem__)
        time.sleep(max(0.0, due[turn] - time.monotonic()))
        if time.monotonic() >= end:
            break
        tickers = instances[turn].fetch_tickers()
        if time.monotonic() > end:
            break
        fetched += len(tickers)
        due[turn] = time.monotonic() + interval
    for instance in instances:
        instance.close()
    counts.put(fetched)


def run_baseline(sim_url: str, processes: int, interval: float, seconds: float) -> int:
    """Tickers fetched and parsed by ccxt alone in `seconds`: each exchange on the
    harvest's schedule (one fetch at a time, `interval` s apart), the exchanges spread
    over `processes` processes as runs are over the workers."""
    pipes = (SPAWN.Queue(), SPAWN.Event(), SPAWN.Queue())
    shares = [list(EXCHANGES[n::processes]) for n in range(processes)]
    children = [
        SPAWN.Process(target=baseline_process, args=(sim_url, share, interval, seconds, pipes))
        for share in shares
        if share
    ]
    ready, go, counts = pipes
    for child in children:
        child.start()
    try:
        for _ in children:
            ready.get(timeout=300)
        go.set()
        return sum(counts.get(timeout=seconds + 300) for _ in children)
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
                child.join()


# ------------------------------------------------------------------ ours


@dataclass
class TreeRun:
    tickers: int
    seconds: float
    succeeded: int
    failed: int
    late: list[float]
    waited: list[float]
    memory: MemorySampler
    names: dict[int, str]


@contextmanager
def harvester_tree(
    url: str, pool: int, workdir: str, log: str | None = None
) -> Iterator[tuple[subprocess.Popen[str], dict[int, str]]]:
    """``python -m harvester`` on `url`; yields it and its children's names by pid."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MM_POOL_SIZE": str(pool),
        "MM_LOG_FORMAT": "json",
        "MM_EXCHANGE_RATE_LIMIT": "0",
        "MM_CONTROL_SOCKET": f"{workdir}/harvester.sock",
        "MM_DATA_DIR": workdir,
        "MM_SHUTDOWN_GRACE": "10",
    }
    tree = subprocess.Popen(
        [sys.executable, "-m", "harvester"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    names: dict[int, str] = {tree.pid: "harvester"}

    def read_log() -> None:
        assert tree.stdout is not None
        copy = open(log, "w") if log else None  # noqa: SIM115 - closed below
        for line in tree.stdout:
            if copy is not None:
                copy.write(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "child.started":
                names[int(event["pid"])] = str(event["child"])
        if copy is not None:
            copy.close()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        yield tree, names
    finally:
        tree.send_signal(signal.SIGTERM)
        try:
            tree.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(tree.pid, signal.SIGKILL)
            tree.wait()
        reader.join(5)


def _db_now(conn: Any) -> Any:
    return conn.execute("SELECT clock_timestamp() AS now").fetchone()["now"]


def _wait_for_first_runs(conn: Any, tree: subprocess.Popen[str], exchanges: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if tree.poll() is not None:
            raise RuntimeError(f"the harvester exited with {tree.returncode}")
        row = conn.execute(
            "SELECT count(DISTINCT exchange_id) AS n FROM harvest_runs WHERE state = 'SUCCEEDED'"
        ).fetchone()
        if row["n"] >= exchanges:
            return
        time.sleep(0.2)
    raise RuntimeError("no run of every exchange succeeded within 300 s")


LATENESS = """
SELECT extract(epoch FROM r.started_at - (p.finished_at
               + make_interval(secs => e.interval_seconds))) AS late,
       extract(epoch FROM r.started_at - r.queued_at) AS waited
FROM harvest_runs r
JOIN exchanges e ON e.id = r.exchange_id
JOIN LATERAL (SELECT finished_at FROM harvest_runs p
              WHERE p.exchange_id = r.exchange_id AND p.id < r.id
              ORDER BY p.id DESC LIMIT 1) p ON true
WHERE r.trigger = 'SCHEDULE' AND r.started_at > %(t0)s AND r.started_at <= %(t1)s
"""

TOTALS = """
SELECT coalesce(sum(markets_count) FILTER (WHERE state = 'SUCCEEDED'), 0) AS tickers,
       count(*) FILTER (WHERE state = 'SUCCEEDED') AS succeeded,
       count(*) FILTER (WHERE state <> 'SUCCEEDED') AS failed
FROM harvest_runs WHERE finished_at > %(t0)s AND finished_at <= %(t1)s
"""


def run_ours(url: str, pool: int, warmup: float, seconds: float, log: str | None) -> TreeRun:
    with (
        db.connect(url, autocommit=True) as conn,
        tempfile.TemporaryDirectory(prefix="mm-capacity-") as workdir,
        harvester_tree(url, pool, workdir, log) as (tree, names),
        MemorySampler(tree.pid) as memory,
    ):
        _wait_for_first_runs(conn, tree, len(EXCHANGES))
        time.sleep(warmup)
        t0 = _db_now(conn)
        time.sleep(seconds)
        t1 = _db_now(conn)
        if tree.poll() is not None:
            raise RuntimeError(f"the harvester exited with {tree.returncode}")
        totals = conn.execute(TOTALS, {"t0": t0, "t1": t1}).fetchone()
        assert totals is not None
        lateness = conn.execute(LATENESS, {"t0": t0, "t1": t1}).fetchall()
    return TreeRun(
        tickers=totals["tickers"],
        seconds=(t1 - t0).total_seconds(),
        succeeded=totals["succeeded"],
        failed=totals["failed"],
        late=[float(row["late"]) for row in lateness],
        waited=[float(row["waited"]) for row in lateness],
        memory=memory,
        names=names,
    )


# ------------------------------------------------------------------ the report


def percentiles(values: Sequence[float]) -> str:
    if not values:
        return "no runs"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered):.2f} s, p99 {p99:.2f} s, max {ordered[-1]:.2f} s"
        f" ({len(ordered)} runs)"
    )


def print_memory(run: TreeRun) -> None:
    memory = run.memory
    by_role = ", ".join(
        f"{run.names.get(pid) or memory.helpers.get(pid, pid)} {kb / 1024:.0f}"
        for pid, kb in sorted(memory.peak_processes.items(), key=lambda item: -item[1])
    )
    print(
        f"peak RSS of the harvester tree: {memory.peak_rss_kb / 1024:.0f} MB over"
        f" {len(memory.peak_processes)} processes (MB: {by_role});"
        f" peak PSS {memory.peak_pss_kb / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=5000, help="per exchange")
    parser.add_argument("--pool", type=int, default=4, help="MM_POOL_SIZE, and baseline processes")
    parser.add_argument("--interval", type=int, default=1, help="seconds between harvests")
    parser.add_argument("--seconds", type=float, default=30.0, help="each measured window")
    parser.add_argument("--warmup", type=float, default=10.0, help="after every first run")
    parser.add_argument("--log", help="a file for the harvester tree's log lines")
    args = parser.parse_args()
    with (
        scratch_database("mm_bench_capacity") as url,
        simulator_process(args.markets) as sim_url,
    ):
        with db.connect(url, autocommit=True) as conn:
            for name, wire in EXCHANGES:
                conn.execute(
                    "INSERT INTO exchanges (name, api_url, interval_seconds) VALUES (%s, %s, %s)",
                    (name, f"{sim_url}/{wire}", args.interval),
                )
        before = run_baseline(sim_url, args.pool, args.interval, args.seconds)
        ours = run_ours(url, args.pool, args.warmup, args.seconds, args.log)
        after = run_baseline(sim_url, args.pool, args.interval, args.seconds)
    names = ", ".join(name for name, _ in EXCHANGES)
    print(
        f"{len(EXCHANGES)} exchanges ({names}) × {args.markets} markets, every"
        f" {args.interval} s, pool of {args.pool}; windows of {args.seconds:.0f} s"
    )
    our_rate = report(
        f"harvester tree ({args.pool} workers; {ours.succeeded} runs succeeded, {ours.failed} not)",
        ours.tickers,
        ours.seconds,
        "tickers",
    )
    print(f"run start lateness (started − due): {percentiles(ours.late)}")
    print(f"queue wait (started − queued): {percentiles(ours.waited)}")
    print_memory(ours)
    base_rate = report(
        f"ccxt alone (same schedule, {args.pool} processes; before {before}, after {after})",
        (before + after) // 2,
        args.seconds,
        "tickers",
    )
    print_ratio(our_rate, base_rate)


if __name__ == "__main__":
    main()
