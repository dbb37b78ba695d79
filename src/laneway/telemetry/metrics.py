"""Prometheus metrics for one gateway: the observer that counts (`metrics_counts`), the state a
scrape reads (`metrics_state`) and the exposition (`metrics_collector`), in one object the
composition root builds when `[metrics] enabled` and the server's /metrics route serves.

Each process counts its own requests. With `server.workers > 1` the workers share their counts
(`share`, `metrics_sharing`): a scrape shows them all, whichever worker answers it. Several
replicas each expose their own figures and Prometheus sums them (docs/observability.md gives
the PromQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import CollectorRegistry

from laneway.clock import Clock
from laneway.gateway.admission import Admission
from laneway.keys.model import VirtualKey
from laneway.telemetry.metrics_collector import MetricsCollector
from laneway.telemetry.metrics_config import MetricsConfig
from laneway.telemetry.metrics_counts import Counts, MetricsObserver
from laneway.telemetry.metrics_sharing import SharedCounts
from laneway.telemetry.metrics_state import StateReader
from laneway.upstream.health import Health

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Metrics:
    def __init__(self, config: MetricsConfig, observer: MetricsObserver, reader: StateReader):
        self.config = config
        self.observer = observer
        self.counts = observer.counts
        self._reader = reader
        self.shared: SharedCounts | None = None

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

    def share(self, directory: Path, index: int) -> SharedCounts:
        """From now on, publish these counts as worker `index` in `directory`, and answer a
        scrape with every worker's there merged."""
        self.shared = SharedCounts(directory, index, self.counts)
        return self.shared

    async def exposition(self) -> bytes:
        """The text format of every family, with the state read now."""
        reading = await self._reader.read()
        # Gathered after the last await: this worker's counts are shown as they were published.
        counts = self.counts if self.shared is None else self.shared.gather()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(MetricsCollector(counts, lambda: reading))
        return generate_latest(registry)
