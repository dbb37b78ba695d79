"""Prometheus metrics for one gateway: the observer that counts (`metrics_counts`), the state a
scrape reads (`metrics_state`) and the exposition (`metrics_collector`), in one object the
composition root builds when `[metrics] enabled` and the server's /metrics route serves.

Each process counts its own requests: with several replicas (or `server.workers`), each exposes
its own figures and Prometheus sums them (docs/observability.md gives the PromQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import CollectorRegistry

from laneway.clock import Clock
from laneway.gateway.admission import Admission
from laneway.keys.model import VirtualKey
from laneway.telemetry.metrics_collector import MetricsCollector
from laneway.telemetry.metrics_config import MetricsConfig
from laneway.telemetry.metrics_counts import Counts, MetricsObserver
from laneway.telemetry.metrics_state import Reading, StateReader
from laneway.upstream.health import Health

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Metrics:
    def __init__(self, config: MetricsConfig, observer: MetricsObserver, reader: StateReader):
        self.config = config
        self.observer = observer
        self.counts = observer.counts
        self._reader = reader
        self._reading: Reading | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(MetricsCollector(self.counts, lambda: self._reading))

    @classmethod
    def build(
        cls,
        config: MetricsConfig,
        *,
        known_models: Iterable[str],
        admission: Admission,
        health: Health,
        backlog: Callable[[], int],
        count_unsettled: Callable[[], int],
        key_of: Callable[[str], VirtualKey | None],
        clock: Clock,
    ) -> Metrics:
        counts = Counts(config.top_keys)
        known = frozenset(known_models)
        reader = StateReader(
            admission,
            health,
            backlog,
            count_unsettled,
            key_of,
            counts.keys,
            clock,
            known_models=known,
        )
        return cls(config, MetricsObserver(counts, known), reader)

    async def exposition(self) -> bytes:
        """The text format of every family, with the state read now."""
        reading = await self._reader.read()
        # Set and used with no await between: a scrape running alongside cannot swap it.
        self._reading = reading
        try:
            return generate_latest(self.registry)
        finally:
            self._reading = None
