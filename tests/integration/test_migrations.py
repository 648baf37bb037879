import datetime as dt
import re
import subprocess
from typing import Any

import psycopg
import pytest

from marketmanager import db
from marketmanager.migrations import MigrationError, NotMigrated, migrate, require_migrated
from sql import Migration, load_migrations
from tests.support.processes import BIN, REPO, child_env, marketmanager

TABLES = {
    "exchanges",
    "harvest_runs",
    "markets",
    "market_ticks",
    "harvester_nodes",
    "api_tokens",
    "schema_migrations",
}


def _tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p') AND NOT relispartition"
    ).fetchall()
    return {row["relname"] for row in rows}


def test_migrate_creates_the_schema_then_applies_nothing(empty_db_url: str) -> None:
    with db.connect(empty_db_url) as conn:
        with pytest.raises(NotMigrated, match="run `marketmanager migrate`"):
            require_migrated(conn)
        applied = migrate(conn)
        assert applied == [m.filename for m in load_migrations()]
        assert _tables(conn) >= TABLES
        assert migrate(conn) == []
        require_migrated(conn)


def test_two_migrate_processes_at_once_apply_each_file_once(empty_db_url: str) -> None:
    env = child_env(DATABASE_URL=empty_db_url, MM_LOG_FORMAT="json")
    procs = [
        subprocess.Popen(
            [str(BIN / "marketmanager"), "migrate"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    with db.connect(empty_db_url) as conn:
        rows = conn.execute(
            "SELECT version, count(*) AS n FROM schema_migrations GROUP BY 1"
        ).fetchall()
    assert {row["version"] for row in rows} == {m.version for m in load_migrations()}
    assert all(row["n"] == 1 for row in rows)
    stdout = "".join(out for out, _ in outputs)
    assert stdout.count("applied ") == 1 and "up to date" in stdout


def test_an_edited_applied_migration_is_refused(empty_db_url: str) -> None:
    first = load_migrations()[0]
    with db.connect(empty_db_url) as conn:
        migrate(conn, [first])
        edited = Migration(first.version, first.name, first.sql + "\n-- edited\n")
        with pytest.raises(MigrationError, match=re.escape(f"{first.filename} was edited")):
            migrate(conn, [edited])


def test_a_failing_migration_leaves_nothing_behind(empty_db_url: str) -> None:
    broken = Migration(1, "broken", "CREATE TABLE half_done (); SELECT no_such_function();")
    with db.connect(empty_db_url) as conn:
        with pytest.raises(psycopg.errors.UndefinedFunction):
            migrate(conn, [broken])
        assert "half_done" not in _tables(conn)
        assert conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone() == {"n": 0}


def test_the_cli_refuses_an_unreachable_database_in_one_line() -> None:
    url = "postgresql://someone:secret@127.0.0.1:1/nowhere"
    result = subprocess.run(
        [str(BIN / "marketmanager"), "migrate"],
        env=child_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "postgresql://someone:***@127.0.0.1:1/nowhere" in result.stderr
    assert "secret" not in result.stderr


@pytest.mark.parametrize("module", ["harvester", "graphql_api"])
def test_processes_refuse_an_unmigrated_database(empty_db_url: str, module: str) -> None:
    result = subprocess.run(
        [str(BIN / "python"), "-m", module],
        env=child_env(DATABASE_URL=empty_db_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "run `marketmanager migrate`" in result.stderr


@pytest.mark.parametrize(
    "argv", [["runs"], ["exchanges", "list"], ["token", "list"], ["backfill", "binance"]]
)
def test_commands_refuse_an_unmigrated_database_in_one_line(
    empty_db_url: str, argv: list[str]
) -> None:
    result = marketmanager(*argv, env=child_env(DATABASE_URL=empty_db_url))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "run `marketmanager migrate`" in result.stderr


@pytest.mark.parametrize("module", ["harvester", "graphql_api"])
def test_processes_refuse_a_bad_setting_naming_it(module: str) -> None:
    result = subprocess.run(
        [str(BIN / "python"), "-m", module],
        env=child_env(MM_POOL_SIZE="many"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "MM_POOL_SIZE: expected a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_ticks_for_today_and_tomorrow_go_into_their_partitions(
    conn: psycopg.Connection[Any],
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    db.execute(conn, "ensure_tick_partitions", {"first_day": today, "days": 2})
    exchange = conn.execute(
        "INSERT INTO exchanges (name) VALUES ('binance') RETURNING id"
    ).fetchone()
    market = conn.execute(
        "INSERT INTO markets (exchange_id, symbol, base, quote) VALUES (%s, 'BTC/USDT', 'BTC', "
        "'USDT') RETURNING id",
        (exchange["id"],),
    ).fetchone()
    now = dt.datetime.now(dt.UTC)
    for ts in (now, now + dt.timedelta(days=1)):
        conn.execute(
            "INSERT INTO market_ticks (market_id, ts, last) VALUES (%s, %s, 1)", (market["id"], ts)
        )
    rows = conn.execute(
        "SELECT tableoid::regclass::text AS part FROM market_ticks ORDER BY ts"
    ).fetchall()
    tomorrow = today + dt.timedelta(days=1)
    assert [r["part"] for r in rows] == [
        f"market_ticks_p{today:%Y%m%d}",
        f"market_ticks_p{tomorrow:%Y%m%d}",
    ]
    with pytest.raises(psycopg.errors.CheckViolation):  # no partition that far ahead
        conn.execute(
            "INSERT INTO market_ticks (market_id, ts) VALUES (%s, %s)",
            (market["id"], now + dt.timedelta(days=400)),
        )


def test_an_exchange_has_at_most_one_active_run(conn: psycopg.Connection[Any]) -> None:
    exchange = conn.execute(
        "INSERT INTO exchanges (name) VALUES ('kraken') RETURNING id"
    ).fetchone()
    conn.execute(
        "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'MANUAL')", (exchange["id"],)
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'SCHEDULE')",
            (exchange["id"],),
        )
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'CRON')", (exchange["id"],)
        )
