"""The daemon's database side without processes: claims, crashes, retries, nodes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from harvester import node
from harvester.control.commands import NodeControl
from harvester.control.protocol import BadRequest, Request
from harvester.harvest import runs
from harvester.poller.process import Poller
from harvester.scheduler.process import Scheduler
from marketmanager import db
from marketmanager.settings import Settings
from tests.support.rows import Conn, add_exchange, runs_of


def claim(conn: Conn, node_id: str = "n1", worker: str = "worker-1") -> dict[str, Any] | None:
    params = {"node": node_id, "worker": worker, "pool_size": 1, "slot": 0, "stranger_after": 2}
    return db.fetch_one(conn, "claim_run", params)


def test_the_scheduler_queues_due_exchanges_once(conn: Conn, db_url: str) -> None:
    ids = [add_exchange(conn, name, interval_seconds=10) for name in ("binance", "kraken")]
    conn.execute("UPDATE exchanges SET enabled = false WHERE id = %s", (ids[1],))
    with db.connect(db_url, autocommit=True) as other:
        leader, rival = Scheduler(conn), Scheduler(other)
        assert leader.tick() == [], "the first tick is inside the first-run spread"
        assert leader.leader and leader.started_at is not None
        leader.started_at -= dt.timedelta(seconds=60)  # the spread has passed
        assert rival.tick() == [] and not rival.leader, "one scheduler decides at a time"
        assert leader.tick() == [ids[0]]
        assert leader.tick() == [], "an exchange with a QUEUED run is not queued again"
    assert [r["trigger"] for r in runs_of(conn, ids[0])] == ["SCHEDULE"]
    assert runs_of(conn, ids[1]) == []


def test_a_claim_skips_a_run_another_connection_holds_and_runs_not_yet_due(
    conn: Conn, db_url: str
) -> None:
    held, free, later = (add_exchange(conn, n) for n in ("binance", "kraken", "bitstamp"))
    for exchange in (held, free):
        conn.execute(
            "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'MANUAL')", (exchange,)
        )
    conn.execute(
        "INSERT INTO harvest_runs (exchange_id, trigger, not_before) "
        "VALUES (%s, 'RETRY', now() + interval '1 hour')",
        (later,),
    )
    # Without SKIP LOCKED the claim would wait for the other transaction: fail instead.
    conn.execute("SET lock_timeout = '10s'")
    with db.connect(db_url) as other, other.transaction():
        # Another worker is in the middle of claiming the oldest run: its row is locked.
        locked = claim(other, "n2", "worker-9")
        assert locked is not None and locked["exchange_id"] == held
        claimed = claim(conn)
        assert claimed is not None and claimed["exchange_id"] == free, "skipped the locked row"
        assert (claimed["state"], claimed["node"], claimed["worker"]) == (
            "RUNNING",
            "n1",
            "worker-1",
        )
        assert claim(conn) is None, "the held run is skipped, the other is not due for an hour"
    assert [r["node"] for r in runs_of(conn, held)] == ["n2"], "the other claim committed"
    assert claim(conn) is None


def test_paused_or_draining_nodes_claim_nothing(conn: Conn) -> None:
    exchange = add_exchange(conn, "binance")
    conn.execute(
        "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'MANUAL')", (exchange,)
    )
    node.register(conn, "n1", 2)
    control = NodeControl(conn, "n1")
    assert control.handle(Request("pause"))["paused"] is True
    assert claim(conn) is None
    assert control.handle(Request("resume"))["paused"] is False
    assert control.handle(Request("drain"))["draining"] is True
    assert claim(conn) is None
    assert claim(conn, node_id="n2") is not None, "other nodes still claim"


def test_stale_and_hung_runs_crash_then_retry_with_backoff(conn: Conn, settings: Settings) -> None:
    stale, hung, fine = (add_exchange(conn, n) for n in ("binance", "kraken", "bitstamp"))
    for exchange in (stale, hung, fine):
        conn.execute(
            "INSERT INTO harvest_runs (exchange_id, trigger, state, node, started_at, heartbeat_at)"
            " VALUES (%s, 'SCHEDULE', 'RUNNING', 'n1', now(), now())",
            (exchange,),
        )
    conn.execute(
        "UPDATE harvest_runs SET heartbeat_at = now() - interval '1 hour' WHERE exchange_id = %s",
        (stale,),
    )
    conn.execute(
        "UPDATE harvest_runs SET started_at = now() - interval '1 hour' WHERE exchange_id = %s",
        (hung,),
    )
    poller = Poller(conn, settings)
    poller.crash_stale_runs()
    [stale_run], [hung_run], [fine_run] = (runs_of(conn, e) for e in (stale, hung, fine))
    assert stale_run["state"] == "CRASHED" and "no heartbeat" in stale_run["error"]
    assert hung_run["state"] == "CRASHED" and "timed out" in hung_run["error"]
    assert fine_run["state"] == "RUNNING"

    poller.retry_failed_runs()
    poller.retry_failed_runs()  # a second poller (or tick) adds nothing
    for exchange, crashed in ((stale, stale_run), (hung, hung_run)):
        retry = runs_of(conn, exchange)[-1]
        assert (retry["trigger"], retry["attempt"], retry["retry_of"]) == (
            "RETRY",
            2,
            crashed["id"],
        )
        assert retry["state"] == "QUEUED"
        assert retry["not_before"] > crashed["finished_at"]
    assert len(runs_of(conn, fine)) == 1


def test_permanent_failures_and_exhausted_attempts_are_not_retried(
    conn: Conn, settings: Settings
) -> None:
    permanent, exhausted = add_exchange(conn, "binance"), add_exchange(conn, "kraken")
    for exchange, attempt, retryable in (
        (permanent, 1, False),
        (exhausted, settings.max_attempts, True),
    ):
        conn.execute(
            "INSERT INTO harvest_runs (exchange_id, trigger, state, attempt, retryable,"
            " finished_at, error) VALUES (%s, 'SCHEDULE', 'FAILED', %s, %s, now(), 'x')",
            (exchange, attempt, retryable),
        )
    Poller(conn, settings).retry_failed_runs()
    assert len(runs_of(conn, permanent)) == len(runs_of(conn, exhausted)) == 1


def test_a_gone_node_is_marked_and_its_runs_recovered(conn: Conn, settings: Settings) -> None:
    exchange = add_exchange(conn, "binance")
    node.register(conn, "dead", 2)
    conn.execute(
        "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'MANUAL')", (exchange,)
    )
    assert claim(conn, node_id="dead") is not None
    conn.execute("UPDATE harvester_nodes SET heartbeat_at = now() - interval '1 hour'")
    poller = Poller(conn, settings)
    poller.recover_gone_nodes()
    gone = conn.execute("SELECT stopped_at FROM harvester_nodes WHERE id = 'dead'").fetchone()
    assert gone is not None and gone["stopped_at"] is not None
    crashed = runs_of(conn, exchange)[0]
    assert crashed["state"] == "CRASHED" and "node dead is gone" in crashed["error"]
    poller.retry_failed_runs()
    assert runs_of(conn, exchange)[-1]["trigger"] == "RETRY"


def test_leaving_gives_unfinished_runs_back_with_their_attempt(conn: Conn) -> None:
    exchange = add_exchange(conn, "binance")
    node.register(conn, "n1", 2)
    conn.execute(
        "INSERT INTO harvest_runs (exchange_id, trigger, attempt) VALUES (%s, 'RETRY', 3)",
        (exchange,),
    )
    assert claim(conn) is not None
    node.leave(conn, "n1")
    [run] = runs_of(conn, exchange)
    assert (run["state"], run["attempt"], run["node"], run["started_at"]) == (
        "QUEUED",
        3,
        None,
        None,
    )
    left = conn.execute("SELECT stopped_at, processes FROM harvester_nodes").fetchone()
    assert left is not None and left["stopped_at"] is not None and left["processes"] == []


def test_old_partitions_are_dropped_and_new_ones_made(conn: Conn, settings: Settings) -> None:
    today = dt.datetime.now(dt.UTC).date()
    old = today - dt.timedelta(days=settings.history_retention_days + 2)
    db.execute(conn, "ensure_tick_partitions", {"first_day": old, "days": 1})
    Poller(conn, settings).keep_partitions(today)
    names = {row["name"] for row in db.fetch_all(conn, "tick_partitions")}
    assert f"market_ticks_p{old:%Y%m%d}" not in names
    assert {f"market_ticks_p{today + dt.timedelta(days=d):%Y%m%d}" for d in range(3)} <= names


def test_control_run_queues_once_and_refuses_unknown_exchanges(conn: Conn) -> None:
    add_exchange(conn, "binance")
    node.register(conn, "n1", 2)
    control = NodeControl(conn, "n1")
    first = control.handle(Request("run", "binance"))
    again = control.handle(Request("run", "binance"))
    assert first["created"] is True and again["created"] is False
    assert first["run"]["id"] == again["run"]["id"]
    assert first["run"]["state"] == "QUEUED"
    with pytest.raises(BadRequest, match="unknown exchange 'nope'"):
        control.handle(Request("run", "nope"))
    status = control.handle(Request("status"))
    assert status["queue_depth"] == 1 and status["node"] == "n1" and status["pool_size"] == 2


def test_one_heartbeat_beats_every_running_run_and_reports_the_others(conn: Conn) -> None:
    ids = {}
    for name in ("binance", "kraken", "bitstamp"):
        row = conn.execute(
            "INSERT INTO harvest_runs (exchange_id, trigger, state, node, started_at,"
            " heartbeat_at) VALUES (%s, 'SCHEDULE', 'RUNNING', 'n1', now(),"
            " now() - interval '1 hour') RETURNING id",
            (add_exchange(conn, name),),
        ).fetchone()
        assert row is not None
        ids[name] = row["id"]
    conn.execute(
        "UPDATE harvest_runs SET state = 'CRASHED', finished_at = now() WHERE id = %s",
        (ids["bitstamp"],),
    )
    states = runs.heartbeat_many(conn, [*ids.values(), 999_999])
    assert states == {
        ids["binance"]: "RUNNING",
        ids["kraken"]: "RUNNING",
        ids["bitstamp"]: "CRASHED",
    }
    fresh = conn.execute(
        "SELECT id FROM harvest_runs WHERE heartbeat_at > now() - interval '1 minute' ORDER BY id"
    ).fetchall()
    assert [row["id"] for row in fresh] == [ids["binance"], ids["kraken"]]
    assert runs.taken_away(ids.values(), states) == {ids["bitstamp"]}


def test_a_worker_claims_its_home_exchanges_runs_first_and_anothers_once_it_waited(
    conn: Conn,
) -> None:
    ids = [add_exchange(conn, name) for name in ("binance", "kraken", "bitstamp")]
    for exchange in ids:  # queued oldest first, in this order
        conn.execute(
            "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'MANUAL')", (exchange,)
        )
    home = ids[2]
    params = {"node": "n1", "worker": "worker-1", "pool_size": 3, "slot": home % 3}
    params["stranger_after"] = 60  # seconds past due before another worker's run is claimed
    first = db.fetch_one(conn, "claim_run", params)
    assert first is not None and first["exchange_id"] == home, "its home run, though newest"
    assert db.fetch_one(conn, "claim_run", params) is None, "others' runs wait for their worker"
    conn.execute(
        "UPDATE harvest_runs SET not_before = now() - interval '61 seconds' WHERE exchange_id = %s",
        (ids[1],),
    )
    second = db.fetch_one(conn, "claim_run", params)
    assert second is not None and second["exchange_id"] == ids[1], "one that waited too long"
    assert db.fetch_one(conn, "claim_run", params) is None, "the other still waits"
