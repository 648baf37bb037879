"""The write path of candles: one transaction per page, one COPY, one upsert.

`write_page` copies a page into a temporary table (text COPY, emptied at commit),
upserts it into ``market_candles`` (a candle that is already right is left alone, so a
page fetched twice changes nothing), records the range the page covered and adds the
page's figures to its job, atomically: a job that dies between pages resumes at the end
of the last committed one, without holes or duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from marketmanager import db
from marketmanager.candles.aggregate import Candle
from marketmanager.candles.timeframes import from_ms
from sql import queries

NULL = "\\N"  # COPY's text format for NULL


def copy_text(candles: Sequence[Candle]) -> str:
    """A page in COPY's text format, columns in ``candle_copy_staging`` order: one write,
    and PostgreSQL parses the numbers (far cheaper than dumping Decimals one by one)."""
    return "".join(
        f"{c.ts}\t{c.open}\t{c.high}\t{c.low}\t{c.close}\t{c.base_volume}\t"
        f"{NULL if c.quote_volume is None else c.quote_volume}\n"
        for c in candles
    )


@dataclass(frozen=True, slots=True)
class PageWrite:
    market_id: int
    timeframe: str
    candles: Sequence[Candle]
    covered: tuple[int, int]  # ms, [from, to)
    no_trade_gaps: int = 0
    requests: int = 1
    unavailable_before: int | None = None


def _month(ms: int) -> dt.date:
    return from_ms(ms).date().replace(day=1)


class CandleStore:
    """Writes pages; remembers the month partitions it made sure of."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._months: set[dt.date] = set()
        self._staging = False  # candle_staging exists on this connection

    def _ensure_partitions(self, first_ms: int, last_ms: int) -> None:
        first, last = _month(first_ms), _month(last_ms)
        if first in self._months and last in self._months:
            return
        with self.conn.transaction():
            db.execute(
                self.conn, "ensure_candle_partitions", {"first_month": first, "last_month": last}
            )
        month = first
        while month <= last:
            self._months.add(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)

    def write_page(self, page: PageWrite, job_id: int | None = None) -> int:
        """Store `page`; the number of candles that were new or changed."""
        if page.candles:
            self._ensure_partitions(page.candles[0].ts, page.candles[-1].ts)
        written = 0
        with self.conn.transaction():
            if page.candles:
                with self.conn.cursor() as cur:
                    if not self._staging:  # (again after a rolled back first page)
                        cur.execute(queries["candle_create_staging"])
                    cur.execute(queries["candle_page_commit_async"])
                    with cur.copy(queries["candle_copy_staging"]) as copy:
                        copy.write(copy_text(page.candles))
                written = db.execute(
                    self.conn,
                    "candle_upsert",
                    {"market_id": page.market_id, "timeframe": page.timeframe},
                )
            covered = {"from_ts": from_ms(page.covered[0]), "to_ts": from_ms(page.covered[1])}
            if page.covered[1] > page.covered[0]:
                db.execute(
                    self.conn,
                    "candle_extend_coverage",
                    {"market_id": page.market_id, "timeframe": page.timeframe, **covered},
                )
            if job_id is not None:
                unavailable = page.unavailable_before
                db.execute(
                    self.conn,
                    "backfill_progress",
                    {
                        "id": job_id,
                        "requests": page.requests,
                        "candles": written,
                        "gaps": page.no_trade_gaps,
                        "unavailable_before": None if unavailable is None else from_ms(unavailable),
                        **covered,
                    },
                )
        self._staging = self._staging or bool(page.candles)
        return written
