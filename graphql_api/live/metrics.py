"""The live updates' figures on /metrics: connections, subscribers, drops, data version."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from graphql_api.live.service import LiveUpdates


class LiveCollector(Collector):
    """Reads the process's `LiveUpdates` at scrape time (None before the lifespan starts)."""

    def __init__(self, live: Callable[[], LiveUpdates | None]) -> None:
        self.live = live

    def collect(self) -> Iterator[Metric]:
        live = self.live()
        if live is None:
            return
        figures = (
            ("mm_live_connections", "Open subscription websockets.", live.connections),
            ("mm_live_subscribers", "Active subscriptions.", live.hub.subscribers),
            ("mm_live_data_version", "The newest change handled.", live.data_version),
            ("mm_live_listener_reconnects", "Reconnections.", live.listener.reconnects),
        )
        for name, text, value in figures:
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], float(value))
            yield gauge
        dropped = CounterMetricFamily("mm_live_dropped_subscribers", "Subscribers too slow.")
        dropped.add_metric([], float(live.hub.dropped))
        yield dropped
