"""What a harvest run's state change announces on channel ``mm_live`` (pure).

Every change of a run's state is NOTIFYed by a trigger (sql/migrations/0003_live.sql)
when its transaction commits, with a JSON payload: ``version``, ``run``, ``exchange``,
``state``. The harvester's scheduler wakes on a finished run (its exchange's next due
time is now known) and its workers on a queued one (work to claim), instead of waiting
for their next look.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CHANNEL = "mm_live"
FINISHED = frozenset({"SUCCEEDED", "FAILED", "CRASHED"})


@dataclass(frozen=True, slots=True)
class RunEvent:
    run_id: int
    exchange_id: int
    state: str

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def queued(self) -> bool:
        return self.state == "QUEUED"


def run_event(payload: str) -> RunEvent | None:
    """The run event of a notification's payload; None when it is not one."""
    try:
        data = json.loads(payload)
        return RunEvent(int(data["run"]), int(data["exchange"]), str(data["state"]))
    except (ValueError, TypeError, KeyError):
        return None
