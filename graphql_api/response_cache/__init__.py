"""Answers computed once per data version (issue 11).

Between two announced writes every identical query has the same answer, so a process
keeps the serialized responses of queries, keyed by the normalised document, the
variables, the operation name, the caller's scope and the data epoch (`live.listener`).

- `policy`: which documents may be kept, and their normalised form (pure);
- `store`: the bounded LRU of response bodies and its counters (pure);
- `service`: the request side (read the epoch first, look up, execute once, keep);
- `metrics`: the counters and the hit rate on /metrics.
"""
