"""Pacing reconnection attempts, telling a lost connection from a failed statement, and
what the API answers while the database is away."""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

from graphql_api.database import is_read
from graphql_api.errors import request_error_status
from marketmanager.db import DatabaseUnavailable
from marketmanager.reconnect import MAX_DELAY, Outage, connection_lost, reconnect_delay


class FakeConnection:
    def __init__(self, closed: bool) -> None:
        self.closed = closed


def test_reconnect_delays_grow_from_a_fifth_of_a_second_to_a_cap_of_two() -> None:
    no_jitter = [reconnect_delay(n, jitter=lambda: 0.0) for n in range(1, 8)]
    assert no_jitter == [0.2, 0.4, 0.8, 1.6, MAX_DELAY, MAX_DELAY, MAX_DELAY]


def test_reconnect_delays_are_shortened_by_at_most_a_fifth_by_jitter() -> None:
    assert reconnect_delay(5, jitter=lambda: 0.999) > 0.8 * MAX_DELAY
    assert reconnect_delay(5, jitter=lambda: 0.5) == 0.9 * MAX_DELAY


def test_an_outage_counts_failures_and_starts_over_once_it_ended() -> None:
    now = [100.0]
    outage = Outage(clock=lambda: now[0])
    first = outage.failed(DatabaseUnavailable("refused"))
    second = outage.failed(DatabaseUnavailable("refused"))
    assert first < second <= 0.4 and outage.since == 100.0
    now[0] = 103.0
    outage.ended()
    assert outage.failures == 0 and outage.since is None
    assert outage.failed(DatabaseUnavailable("refused")) <= 0.2


def test_a_lost_connection_is_told_from_a_failed_statement() -> None:
    assert connection_lost(DatabaseUnavailable("cannot reach the database"))
    assert connection_lost(pg_errors.AdminShutdown("terminating"), FakeConnection(closed=True))
    assert connection_lost(psycopg.OperationalError("the connection is closed"))
    # the statement failed; the connection is fine: not worth a new one
    assert not connection_lost(pg_errors.QueryCanceled("timeout"), FakeConnection(closed=False))
    assert not connection_lost(pg_errors.UniqueViolation("dup"), FakeConnection(closed=True))
    assert not connection_lost(ValueError("no"))


def test_only_selects_are_retried_by_the_api() -> None:
    assert is_read("api_exchanges_by_name")
    assert not is_read("insert_exchange")
    assert not is_read("api_delete_exchange")


def test_a_request_that_could_not_reach_the_database_is_a_503() -> None:
    assert request_error_status({"SERVICE_UNAVAILABLE"}) == 503
    assert request_error_status({"UNAUTHENTICATED", "SERVICE_UNAVAILABLE"}) == 401
    assert request_error_status({"INTERNAL"}) == 500
    assert request_error_status({"BAD_USER_INPUT"}) == 400
