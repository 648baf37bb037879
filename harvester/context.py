"""What every harvester child process is handed (picklable: it goes to the forkserver)."""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.synchronize import Event

from harvester.tree_state import ChildSlots
from marketmanager.settings import Settings


@dataclass(frozen=True)
class ChildContext:
    name: str  # scheduler, poller, control, worker-N
    node_id: str
    database_url: str
    settings: Settings
    stop: Event  # set by the parent: finish what you are doing and return
    children: ChildSlots | None = None  # the parent's live view of its children
