"""Interpreter settings for the API process, applied once before it serves.

Python's cyclic garbage collector was a fifth of the CPU of a busy API process: every
700 net allocations it scans the young objects, and a request in flight (there are
dozens at once) keeps thousands alive, which get promoted and then rescanned by full
collections that also walk the whole heap.
Almost nothing here is freed by the cycle collector (reference counting frees the rows,
dicts and results of a request), so:

- `gc.freeze` moves everything alive after start-up (modules, the schema) out of the
  collector's sight for good;
- the first threshold is raised so that a collection happens every 50,000 net
  allocations rather than 700, and objects of requests in flight are not promoted.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
