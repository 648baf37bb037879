"""The response cache on /metrics: lookups by result, evictions, size, the hit rate."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from graphql_api.response_cache.service import ResponseCache


class CacheCollector(Collector):
    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        counters, store = self.cache.counters, self.cache.store
        lookups = CounterMetricFamily(
            "mm_api_cache_lookups",
            "GraphQL requests by what the response cache did: hit (answered with a kept "
            "or shared body), miss (executed, to be kept or shared), bypass (executed "
            "alone, not to be kept).",
            labels=["result"],
        )
        for result, count in (
            ("hit", counters.hits),
            ("miss", counters.misses),
            ("bypass", counters.bypasses),
        ):
            lookups.add_metric([result], float(count))
        yield lookups
        bypasses = CounterMetricFamily(
            "mm_api_cache_bypasses",
            "Bypasses by reason: not kept (a mutation, a volatile field, a request the "
            "cache cannot read, a bad token), not listening (the listener is away), "
            "errors (the shared answer had errors).",
            labels=["reason"],
        )
        for reason, count in sorted(counters.bypassed_for.items()):
            bypasses.add_metric([reason], float(count))
        yield bypasses
        evicted = CounterMetricFamily(
            "mm_api_cache_evictions", "Kept responses pushed out by the size bounds."
        )
        evicted.add_metric([], float(counters.evictions))
        yield evicted
        figures = (
            ("mm_api_cache_hit_rate", "Hits over hits and misses.", counters.hit_rate),
            ("mm_api_cache_entries", "Kept responses.", float(len(store))),
            ("mm_api_cache_bytes", "Bytes of kept responses (MM_API_CACHE_BYTES).", store.bytes),
        )
        for name, text, value in figures:
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], float(value))
            yield gauge
