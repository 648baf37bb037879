"""Mutations through HTTP: what they do, who may run them, and what they refuse."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import rows
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api

CREATE = """mutation($input: CreateExchangeInput!) {
  createExchange(input: $input) { name enabled intervalSeconds apiUrl url logo status { state } }
}"""
UPDATE = """mutation($name: String!, $input: UpdateExchangeInput!) {
  updateExchange(name: $name, input: $input) { name enabled intervalSeconds apiUrl url logo }
}"""
DELETE = "mutation($name: String!) { deleteExchange(name: $name) }"
RUN = "mutation($name: String!) { runExchange(name: $name) { id state trigger exchange { name } } }"

MUTATIONS = {
    "createExchange": (CREATE, {"input": {"name": "kraken"}}),
    "updateExchange": (UPDATE, {"name": "binance", "input": {"enabled": False}}),
    "deleteExchange": (DELETE, {"name": "binance"}),
    "runExchange": (RUN, {"name": "binance"}),
}


@pytest.fixture
def tokens(api: Api) -> dict[str, str]:
    rows.add_exchange(api.conn, "binance")
    made = {
        level: rows.token(api.conn, f"{level}-token", level) for level in ("read", "write", "admin")
    }
    revoked = rows.token(api.conn, "old", "admin")
    api.conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE name = 'old'")
    return made | {"revoked": revoked, "unknown": "mm_" + "x" * 43}


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize(
    ("who", "code"),
    [
        (None, "UNAUTHENTICATED"),
        ("unknown", "UNAUTHENTICATED"),
        ("revoked", "UNAUTHENTICATED"),
        ("read", "FORBIDDEN"),
    ],
)
def test_mutations_need_a_write_token(
    api: Api, tokens: dict[str, str], mutation: str, who: str | None, code: str
) -> None:
    query, variables = MUTATIONS[mutation]
    token = tokens[who] if who else None
    assert [e[0] for e in api.client.errors(query, variables, token=token)] == [code]
    assert api.conn.execute("SELECT count(*) AS n FROM harvest_runs").fetchone() == {"n": 0}
    assert api.conn.execute("SELECT name, enabled FROM exchanges").fetchall() == [
        {"name": "binance", "enabled": True}
    ]


def test_malformed_authorization_header(api: Api, tokens: dict[str, str]) -> None:
    for header in ("Basic abc", "Bearer", f"Token {tokens['write']}"):
        errors = api.client.errors(RUN, {"name": "binance"}, headers={"authorization": header})
        assert errors[0][0] == "UNAUTHENTICATED"
    # a bad token is refused even on a public query
    assert api.client.errors("{ supportedExchanges }", token="nope")[0][0] == "UNAUTHENTICATED"


def test_create_update_delete(api: Api, tokens: dict[str, str]) -> None:
    write = tokens["write"]
    created = api.client.query(
        CREATE, {"input": {"name": "kraken", "intervalSeconds": 30}}, token=write
    )
    assert created["createExchange"] | {"logo": None} == {
        "name": "kraken",
        "enabled": True,
        "intervalSeconds": 30,
        "apiUrl": None,
        "url": "https://www.kraken.com",
        "logo": None,
        "status": {"state": "IDLE"},
    }
    assert created["createExchange"]["logo"].startswith("https://")
    updated = api.client.query(
        UPDATE,
        {"name": "kraken", "input": {"enabled": False, "url": "https://k.example", "logo": None}},
        token=write,
    )["updateExchange"]
    assert (updated["enabled"], updated["url"], updated["logo"], updated["intervalSeconds"]) == (
        False,
        "https://k.example",
        None,
        30,
    )
    kraken_id = api.conn.execute("SELECT id FROM exchanges WHERE name = 'kraken'").fetchone()["id"]
    market_id = rows.market(api.conn, kraken_id, "BTC/USD")
    rows.run(api.conn, kraken_id, "SUCCEEDED")
    api.conn.execute("SELECT ensure_market_ticks_partitions(current_date, 1)")
    api.conn.execute(
        "INSERT INTO market_ticks (market_id, ts, last) VALUES (%s, now(), 1)", [market_id]
    )
    assert api.client.query(DELETE, {"name": "kraken"}, token=write) == {"deleteExchange": True}
    for table in ("markets", "harvest_runs", "market_ticks"):
        assert api.conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone() == {"n": 0}, table
    assert api.client.query('{ exchange(name: "kraken") { name } }') == {"exchange": None}


def test_api_url_needs_admin(api: Api, tokens: dict[str, str]) -> None:
    with_url = {"input": {"name": "kraken", "apiUrl": "https://proxy.example.com"}}
    assert api.client.errors(CREATE, with_url, token=tokens["write"])[0][0] == "FORBIDDEN"
    created = api.client.query(CREATE, with_url, token=tokens["admin"])["createExchange"]
    assert created["apiUrl"] == "https://proxy.example.com"
    clear = {"name": "kraken", "input": {"apiUrl": None}}
    assert api.client.errors(UPDATE, clear, token=tokens["write"])[0][0] == "FORBIDDEN"
    assert (
        api.client.query(UPDATE, clear, token=tokens["admin"])["updateExchange"]["apiUrl"] is None
    )
    # without apiUrl in the input, write is enough
    fine = {"name": "kraken", "input": {"intervalSeconds": 3600}}
    assert (
        api.client.query(UPDATE, fine, token=tokens["write"])["updateExchange"]["intervalSeconds"]
        == 3600
    )


@pytest.mark.parametrize(
    ("variables", "field", "fragment"),
    [
        ({"input": {"name": "binanse"}}, "name", "did you mean binance"),
        ({"input": {"name": "Not An Id"}}, "name", "not a ccxt exchange id"),
        (
            {"input": {"name": "kraken", "intervalSeconds": 9}},
            "intervalSeconds",
            "from 10 to 86400",
        ),
        ({"input": {"name": "kraken", "intervalSeconds": 86401}}, "intervalSeconds", "86400"),
        ({"input": {"name": "kraken", "url": "ftp://x.example"}}, "url", "http(s)"),
        ({"input": {"name": "kraken", "logo": "javascript:alert(1)"}}, "logo", "http(s)"),
        ({"input": {"name": "kraken", "apiUrl": "file:///etc/passwd"}}, "apiUrl", "http(s)"),
        ({"input": {"name": "kraken", "apiUrl": "http://127.0.0.1:8080"}}, "apiUrl", "private"),
        ({"input": {"name": "kraken", "apiUrl": "http://10.1.2.3"}}, "apiUrl", "private"),
        ({"input": {"name": "kraken", "apiUrl": "http://localhost"}}, "apiUrl", "private"),
        ({"input": {"name": "binance"}}, "name", "exists already"),
    ],
)
def test_create_refuses_bad_input(
    api: Api, tokens: dict[str, str], variables: dict[str, object], field: str, fragment: str
) -> None:
    errors = api.client.errors(CREATE, variables, token=tokens["admin"])
    code = "CONFLICT" if fragment == "exists already" else "BAD_USER_INPUT"
    assert [(e[0], e[1]) for e in errors] == [(code, field)]
    assert fragment in errors[0][2]


def test_name_suggestions(api: Api, tokens: dict[str, str]) -> None:
    response = api.client.post(CREATE, {"input": {"name": "krakn"}}, token=tokens["write"])
    assert "kraken" in response.json()["errors"][0]["extensions"]["suggestions"]


def test_private_api_urls_when_allowed(api: Api, tokens: dict[str, str]) -> None:
    allowing = api.variant(allow_private_api_urls=True)
    variables = {"input": {"name": "kraken", "apiUrl": "http://127.0.0.1:9999"}}
    got = allowing.query(CREATE, variables, token=tokens["admin"])["createExchange"]
    assert got["apiUrl"] == "http://127.0.0.1:9999"
    allowing.close()


def test_update_refuses_bad_input(api: Api, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    for update, field in [
        ({"enabled": None}, "enabled"),
        ({"intervalSeconds": None}, "intervalSeconds"),
        ({"intervalSeconds": 5}, "intervalSeconds"),
        ({"url": "nope"}, "url"),
        ({"apiUrl": "http://192.168.1.1"}, "apiUrl"),
    ]:
        errors = api.client.errors(UPDATE, {"name": "binance", "input": update}, token=admin)
        assert [(e[0], e[1]) for e in errors] == [("BAD_USER_INPUT", field)], update
    missing = {"name": "nope", "input": {"enabled": True}}
    assert api.client.errors(UPDATE, missing, token=admin)[0][:2] == ("NOT_FOUND", "name")
    assert api.client.errors(DELETE, {"name": "nope"}, token=admin)[0][:2] == ("NOT_FOUND", "name")
    assert api.client.errors(RUN, {"name": "nope"}, token=admin)[0][:2] == ("NOT_FOUND", "name")


def test_run_exchange_queues_once(api: Api, tokens: dict[str, str]) -> None:
    write = tokens["write"]
    first = api.client.query(RUN, {"name": "binance"}, token=write)["runExchange"]
    assert first | {"id": None} == {
        "id": None,
        "state": "QUEUED",
        "trigger": "MANUAL",
        "exchange": {"name": "binance"},
    }
    again = api.client.query(RUN, {"name": "binance"}, token=write)["runExchange"]
    assert again["id"] == first["id"]
    api.conn.execute(
        "UPDATE harvest_runs SET state = 'RUNNING', started_at = now(), node = 'n' WHERE id = %s",
        [int(first["id"])],
    )
    running = api.client.query(RUN, {"name": "binance"}, token=write)["runExchange"]
    assert (running["id"], running["state"]) == (first["id"], "RUNNING")
    api.conn.execute(
        "UPDATE harvest_runs SET state = 'SUCCEEDED', finished_at = now() WHERE id = %s",
        [int(first["id"])],
    )
    fresh = api.client.query(RUN, {"name": "binance"}, token=write)["runExchange"]
    assert fresh["id"] != first["id"] and fresh["state"] == "QUEUED"
    due = api.conn.execute(
        "SELECT not_before <= now() AS due FROM harvest_runs WHERE id = %s", [int(fresh["id"])]
    )
    assert due.fetchone() == {"due": True}


def test_run_exchange_races_to_one_run(api: Api, tokens: dict[str, str]) -> None:
    for name in ("kraken", "okx", "bybit"):
        rows.add_exchange(api.conn, name)

    def run(name: str) -> str:
        return str(
            api.client.post(RUN, {"name": name}, token=tokens["write"]).json()["data"][
                "runExchange"
            ]["id"]
        )

    with ThreadPoolExecutor(12) as pool:
        ids = list(pool.map(run, ["kraken", "okx", "bybit"] * 8))
    assert len(set(ids)) == 3
    active = api.conn.execute("SELECT count(*) AS n FROM harvest_runs WHERE state = 'QUEUED'")
    assert active.fetchone() == {"n": 3}
