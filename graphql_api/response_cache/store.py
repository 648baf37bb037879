"""The bounded LRU of response bodies of one data epoch, and its counters (pure).

Entries of an older epoch are never asked for again: the first use under a new epoch
empties the store. A body is kept only under the epoch it was computed in (`put` with an
older epoch is ignored), so a slow answer cannot outlive the write that changed it.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

ENTRY_OVERHEAD = 200  # bytes counted per entry besides its body: the key, the node


@dataclass
class Counters:
    hits: int = 0  # answered with a kept body, or with the body of the same request in flight
    misses: int = 0  # executed, to be kept
    bypasses: int = 0  # executed, not to be kept (see `service` for why)
    bypassed_for: Counter[str] = field(default_factory=Counter)  # bypasses by reason
    evictions: int = 0  # entries pushed out by the bounds (not by a new epoch)

    @property
    def hit_rate(self) -> float:
        """Hits over the lookups that could hit (bypasses never can)."""
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


class ResponseStore:
    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.epoch: int | None = None
        self.bytes = 0
        self.counters = Counters()
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._bodies)

    def get(self, epoch: int, key: Hashable) -> bytes | None:
        if not self._follow(epoch):
            return None
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, epoch: int, key: Hashable, body: bytes) -> bool:
        """Keep `body`; False when it is of an older epoch or too big for the bounds."""
        if not self._follow(epoch):
            return False
        size = len(body) + ENTRY_OVERHEAD
        if size > self.max_bytes or self.max_entries < 1:
            return False
        old = self._bodies.pop(key, None)
        if old is not None:
            self.bytes -= len(old) + ENTRY_OVERHEAD
        self._bodies[key] = body
        self.bytes += size
        while len(self._bodies) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._bodies.popitem(last=False)
            self.bytes -= len(evicted) + ENTRY_OVERHEAD
            self.counters.evictions += 1
        return True

    def _follow(self, epoch: int) -> bool:
        """Move to `epoch` if it is newer (emptying the store); False if it is older."""
        if self.epoch is not None and epoch < self.epoch:
            return False
        if epoch != self.epoch:
            self._bodies.clear()
            self.bytes = 0
            self.epoch = epoch
        return True
