"""The response cache against a real API process and real commits: no answer older than
an announced write, a mutation seen by its caller's next query, nothing served while the
listener is away.

A writer commits harvests through the production write path (`write_run`), each setting
every market's `last` to the harvest's generation; clients query without pause. After
each commit the test waits until the API process has handled its announcement (its
/metrics show the commit's data version); every request sent after that moment must
answer that generation or a newer one.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from harvester.harvest import runs
from harvester.harvest.tickers import MarketRow
from harvester.harvest.volume import summarize
from harvester.harvest.write import write_run
from marketmanager import db
from tests.support import rows
from tests.support.api_client import Client
from tests.support.api_server import ProcessServer
from tests.support.processes import wait_for

MARKETS = 30
GENERATIONS = 25
CLIENTS = 6
DEADLINE = 30.0  # seconds an announcement may take on a loaded machine
QUERIES = (
    "{ markets(first: 100) { nodes { symbol last } } }",
    "{ exchanges { nodes { name topPairVolumeUsd markets(first: 5) { nodes { last } } } } }",
)


def harvest(conn: psycopg.Connection[Any], exchange_id: int, generation: int) -> int:
    """Commit one harvest whose markets all have last = `generation`; its data version."""
    price = Decimal(generation)
    now = dt.datetime.now(dt.UTC)
    listing = [
        MarketRow(
            symbol=f"C{i}/USDT", base=f"C{i}", quote="USDT", type="spot", active=True,
            last=price, bid=price, ask=price, base_volume=Decimal(i + 1),
            quote_volume=price * (i + 1), change_pct=None, exchange_ts=now,
        )
        for i in range(MARKETS)
    ]  # fmt: skip
    run = runs.create_run(conn, exchange_id, running=True, node="test", worker="test")
    write_run(
        conn,
        exchange_id=exchange_id,
        run_id=run.id,
        rows=listing,
        summary=summarize(listing),
        harvested_at=now,
    )
    row = conn.execute("SELECT max(version) AS version FROM live_changes").fetchone()
    assert row is not None
    return int(row["version"])


def metric(base_url: str, name: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else float("nan")


def announced(base_url: str, version: int) -> None:
    """Wait until the API process has handled the announcement of data version `version`."""
    wait_for(
        lambda: metric(base_url, "mm_live_data_version") >= version,
        DEADLINE,
        f"the API to hear of version {version}",
    )


def generation_of(payload: dict[str, Any]) -> int:
    """The one generation a response shows (a harvest writes all its markets at once)."""
    data = payload["data"]
    if "markets" in data:
        lasts = {node["last"] for node in data["markets"]["nodes"]}
    else:
        nodes = data["exchanges"]["nodes"]
        lasts = {m["last"] for e in nodes for m in e["markets"]["nodes"]}
    assert len(lasts) == 1, f"a response mixes harvests: {sorted(lasts)}"
    return int(lasts.pop())


@pytest.fixture
def api(db_url: str) -> Iterator[ProcessServer]:
    server = ProcessServer(db_url, MM_API_CACHE="1", MM_ALLOW_PRIVATE_API_URLS="1").start()
    try:
        yield server
    finally:
        server.stop()


def test_no_answer_is_older_than_the_last_announced_commit_under_concurrent_writes(
    db_url: str, api: ProcessServer
) -> None:
    with db.connect(db_url, autocommit=True) as conn:
        exchange_id = rows.add_exchange(conn, "binance")
        announced(api.url, harvest(conn, exchange_id, 1))
        answers: list[tuple[float, int]] = []  # (sent at, generation shown)
        stop = threading.Event()
        failures: list[BaseException] = []

        def client(index: int) -> None:
            with httpx.Client(timeout=30) as http:
                try:
                    while not stop.is_set():
                        sent = time.monotonic()
                        body = {"query": QUERIES[index % len(QUERIES)]}
                        response = http.post(f"{api.url}/graphql", json=body)
                        assert response.status_code == 200, response.text
                        answers.append((sent, generation_of(response.json())))
                except BaseException as error:  # reported by the main thread
                    failures.append(error)

        clients = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in clients:
            thread.start()
        heard: list[tuple[float, int]] = []  # (announced at, generation)
        try:
            for generation in range(2, GENERATIONS + 1):
                version = harvest(conn, exchange_id, generation)
                announced(api.url, version)
                heard.append((time.monotonic(), generation))
                time.sleep(0.05)  # let clients ask (and the cache keep) this generation
        finally:
            stop.set()
            for thread in clients:
                thread.join(60)
    assert not failures, failures
    stale = [
        (sent, shown, generation)
        for announced_at, generation in heard
        for sent, shown in answers
        if sent > announced_at and shown < generation
    ]
    assert not stale, f"{len(stale)} answers older than an announced commit: {stale[:5]}"
    later = sum(1 for sent, _ in answers if sent > heard[0][0])
    assert later > GENERATIONS, "too few answers to judge by"
    hits = metric(api.url, 'mm_api_cache_lookups_total{result="hit"}')
    assert hits > 0, "no answer came from the cache: the test proved nothing"
    print(f"\n{len(answers)} answers, {hits:.0f} from the cache, none stale")


def test_a_mutation_is_seen_by_the_next_query_of_its_caller(
    db_url: str, api: ProcessServer
) -> None:
    with db.connect(db_url, autocommit=True) as conn:
        rows.add_exchange(conn, "binance")
        token = rows.token(conn, "writer", "write")
    client = Client(api.url)
    query = '{ exchange(name: "binance") { intervalSeconds } }'
    mutation = (
        'mutation ($s: Int!) { updateExchange(name: "binance", input: {intervalSeconds: $s}) '
        "{ id } }"
    )
    try:
        for seconds in range(61, 81):
            client.query(query)  # kept
            assert client.query(query) == {"exchange": {"intervalSeconds": seconds - 1}}
            client.query(mutation, {"s": seconds}, token=token)
            assert client.query(query) == {"exchange": {"intervalSeconds": seconds}}
    finally:
        client.close()
    assert metric(api.url, 'mm_api_cache_lookups_total{result="hit"}') > 0


def test_a_write_made_while_the_listener_is_away_is_never_answered_from_before_it(
    db_url: str, api: ProcessServer
) -> None:
    """The listener's connection dies (as in a database restart) and a harvest commits
    before it is back: its announcement is lost, and yet no answer predates it."""
    client = Client(api.url)
    query = QUERIES[0]
    try:
        with db.connect(db_url, autocommit=True) as conn:
            exchange_id = rows.add_exchange(conn, "binance")
            announced(api.url, harvest(conn, exchange_id, 1))
            for _ in range(3):
                assert generation_of({"data": client.query(query)}) == 1
            hits = metric(api.url, 'mm_api_cache_lookups_total{result="hit"}')
            assert hits >= 1, "the answer was not kept: the test would prove nothing"
            listener = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query = 'LISTEN mm_live'"
            ).fetchone()
            assert listener is not None, "the API's listener is not connected"
            terminated = conn.execute(
                "SELECT pg_terminate_backend(%s, 10000) AS done", (listener["pid"],)
            ).fetchone()
            assert terminated is not None and terminated["done"]
            harvest(conn, exchange_id, 2)  # announced to nobody
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:  # away, reconnecting, then back
                assert generation_of({"data": client.query(query)}) == 2
            wait_for(
                lambda: metric(api.url, "mm_live_listener_reconnects") >= 1,
                DEADLINE,
                "the listener to reconnect",
            )
            for _ in range(3):
                assert generation_of({"data": client.query(query)}) == 2
            assert metric(api.url, 'mm_api_cache_lookups_total{result="hit"}') > hits
    finally:
        client.close()


def test_with_the_cache_off_the_api_answers_and_shows_no_cache_figures(
    db_url: str,
) -> None:
    server = ProcessServer(db_url, MM_API_CACHE="0").start()
    client = Client(server.url)
    try:
        with db.connect(db_url, autocommit=True) as conn:
            exchange_id = rows.add_exchange(conn, "binance")
            harvest(conn, exchange_id, 1)
        for _ in range(3):
            assert generation_of({"data": client.query(QUERIES[0])}) == 1
        assert "mm_api_cache" not in httpx.get(f"{server.url}/metrics", timeout=10).text
    finally:
        client.close()
        server.stop()
