"""The API pool's check of the connections it hands out (`graphql_api.database`): a quiet
idle connection passes without a round trip; one whose session the server ended, or one
left inside a transaction, is not quiet and must answer a query, which a dead one fails."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from graphql_api.database import SweepingCheck, quiet


async def _connect(url: str, *, autocommit: bool = True) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(url, autocommit=autocommit)


def test_an_open_idle_connection_is_quiet(db_url: str) -> None:
    async def run() -> None:
        async with await _connect(db_url) as conn:
            await conn.execute("SELECT 1")
            assert quiet(conn)
            await SweepingCheck()(conn)  # passes

    asyncio.run(run())


def test_a_connection_inside_a_transaction_is_not_quiet(db_url: str) -> None:
    async def run() -> None:
        async with await _connect(db_url, autocommit=False) as conn:
            await conn.execute("SELECT 1")
            assert not quiet(conn)

    asyncio.run(run())


def test_a_connection_whose_session_the_server_ended_fails_the_check(db_url: str) -> None:
    async def run() -> None:
        async with await _connect(db_url) as conn:
            await conn.execute("SELECT 1")
            with psycopg.connect(db_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
            deadline = time.monotonic() + 30
            while quiet(conn):  # the backend says goodbye on the socket as it exits
                assert time.monotonic() < deadline, "the ended session still looks quiet"
                await asyncio.sleep(0.05)
            with pytest.raises(psycopg.OperationalError):
                await SweepingCheck()(conn)

    asyncio.run(run())
