"""What a notification on channel ``mm_live`` says, and which markets changed (pure).

The database sends one notification per change of a harvest run's state (a trigger of
migration 0003), as JSON: ``{"version": 12, "run": 5, "exchange": 2, "state": "RUNNING"}``.
A run that reaches SUCCEEDED wrote its exchange's markets in the same transaction.
Other writes that change what queries answer (an exchange edited, a market listed by the
candle lane: migration 0005) say only which table changed, ``{"edited": "exchanges"}``:
nothing to push to subscribers, but the data changed (the response cache's epoch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EDITED = "edited"  # the key of a notification that says only "this table changed"
MARKETS_WRITTEN = "SUCCEEDED"  # the state a run commits together with its markets
# The columns whose values make a market "changed" for `marketUpdates`.
WATCHED_COLUMNS = ("active", "last", "bid", "ask", "base_volume", "quote_volume", "change_pct")


@dataclass(frozen=True, slots=True)
class Change:
    version: int
    run_id: int
    exchange_id: int
    state: str

    @classmethod
    def from_payload(cls, payload: str) -> Change | None:
        """The run change a notification announces, None for an edit (no run changed);
        ValueError when it is neither."""
        try:
            data = json.loads(payload)
            if isinstance(data, dict) and EDITED in data:
                return None
            return cls(
                int(data["version"]), int(data["run"]), int(data["exchange"]), str(data["state"])
            )
        except (TypeError, KeyError, json.JSONDecodeError) as error:
            raise ValueError(f"not a live change: {payload[:200]!r}") from error

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Change:
        return cls(row["version"], row["run_id"], row["exchange_id"], row["state"])


def exchanges_with_new_markets(changes: Iterable[Change]) -> set[int]:
    return {change.exchange_id for change in changes if change.state == MARKETS_WRITTEN}


def fingerprint(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(column) for column in WATCHED_COLUMNS)


class ChangedMarkets:
    """Remembers the values last seen of each market it is shown, to tell which changed.

    A market seen for the first time counts as changed. `forget(exchange_id)` drops an
    exchange's markets (when nobody watches it any more), so memory follows what is watched.
    """

    def __init__(self) -> None:
        self._seen: dict[int, dict[int, tuple[Any, ...]]] = {}

    def changed(self, exchange_id: int, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        seen = self._seen.setdefault(exchange_id, {})
        out = []
        for row in rows:
            values = fingerprint(row)
            if seen.get(row["id"]) != values:
                seen[row["id"]] = values
                out.append(row)
        return out

    def remembered(self) -> set[int]:
        return set(self._seen)

    def forget(self, exchange_id: int) -> None:
        self._seen.pop(exchange_id, None)


class RecentVersions:
    """The versions handled lately, so that a re-read after a reconnect skips them.

    Versions are taken in order but may commit out of order, so a re-read starts
    `window` versions before the highest seen and skips those already handled.
    """

    def __init__(self, window: int = 1000) -> None:
        self.window = window
        self.highest = 0
        self._handled: set[int] = set()

    def is_new(self, version: int) -> bool:
        return version not in self._handled and version > self.highest - self.window

    def mark(self, version: int) -> None:
        self._handled.add(version)
        self.highest = max(self.highest, version)
        if len(self._handled) > 2 * self.window:
            floor = self.highest - self.window
            self._handled = {v for v in self._handled if v > floor}

    @property
    def reread_from(self) -> int:
        """Re-read the versions above this one."""
        return max(self.highest - self.window, 0)
