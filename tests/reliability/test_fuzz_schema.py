"""Issue 8, suite 5: the schema fuzzed with hypothesis-graphql over real HTTP.

Generated queries and mutations (valid ones, and ones with one schema violation), sent
anonymously and with read, write, admin and revoked tokens, to the API in its own
process (hypothesis must own the interpreter's `random` while it draws): none may
get a 5xx or an INTERNAL error. Derandomized, without deadlines, so that each run sends
the same operations whatever the machine's speed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from graphql_api.schema import schema
from tests.support import rows
from tests.support.api_client import GRAPHQL_RESPONSE, Client
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api
from tests.support.api_server import ProcessServer

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(900)]

SDL = str(schema)
WHO = (None, "read", "write", "admin", "revoked")
DATETIMES = st.one_of(
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat()),
    st.text(max_size=30),
).map(lambda text: graphql.StringValueNode(value=text))
SCALARS = {"DateTime": DATETIMES}
EXAMPLES = {Mode.POSITIVE: 1_000, Mode.NEGATIVE: 250}  # per operation type


@pytest.fixture(scope="module")
def client(api_db: str) -> Iterator[Client]:
    server = ProcessServer(api_db).start()
    client = Client(server.url)
    yield client
    client.close()
    server.stop()


@pytest.fixture
def tokens(api: Api) -> dict[str | None, str | None]:
    exchange = rows.add_exchange(api.conn, "binance")
    rows.markets(api.conn, exchange, 20)
    rows.run(api.conn, exchange, "SUCCEEDED")
    made: dict[str | None, str | None] = {None: None}
    made.update({level: rows.token(api.conn, level, level) for level in ("read", "write", "admin")})
    made["revoked"] = rows.token(api.conn, "old", "admin")
    api.conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE name = 'old'")
    return made


def _fuzz(
    client: Client, tokens: dict[str | None, str | None], strategy: Callable[..., object]
) -> None:
    tried: Counter[tuple[str, str, str]] = Counter()
    for mode, examples in EXAMPLES.items():
        operations = strategy(SDL, custom_scalars=SCALARS, mode=mode)

        @settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation=operations, who=st.sampled_from(WHO), strict=st.booleans())
        def send(operation: str, who: str | None, strict: bool) -> None:
            accept = GRAPHQL_RESPONSE if strict else "application/json"
            response = client.post(operation, token=tokens[who], accept=accept)
            assert response.status_code < 500, (operation, response.text)
            codes = {e.get("extensions", {}).get("code") for e in response.json().get("errors", [])}
            assert "INTERNAL" not in codes and None not in codes, (operation, response.text)
            tried[(mode.name, str(who), "errors" if codes else "data")] += 1  # noqa: B023

        send()
    print(f"\n{strategy.__name__}: {sum(tried.values())} operations sent")
    for kind, count in sorted(tried.items()):
        print("  mode={} token={} answer={}: {}".format(*kind, count))
    assert sum(tried.values()) >= sum(EXAMPLES.values()) * 0.9  # hypothesis ran them all


def test_fuzzed_queries_never_get_5xx_or_internal(
    client: Client, tokens: dict[str | None, str | None]
) -> None:
    _fuzz(client, tokens, queries)


def test_fuzzed_mutations_never_get_5xx_or_internal(
    client: Client, tokens: dict[str | None, str | None]
) -> None:
    _fuzz(client, tokens, mutations)
