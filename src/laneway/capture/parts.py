"""Capture's running parts, as the composition root starts them: the writer thread and the
observer that feeds it."""

from __future__ import annotations

import random
from dataclasses import dataclass

from laneway.capture.config import CaptureConfig
from laneway.capture.day_cap import DayCap, MemoryDayCap, RedisDayCap
from laneway.capture.observer import CaptureObserver
from laneway.capture.redaction import Redactor
from laneway.capture.writer import CaptureWriter
from laneway.clock import Clock
from laneway.ledger.captures import CaptureStore


@dataclass(frozen=True)
class Capture:
    writer: CaptureWriter
    observer: CaptureObserver

    @classmethod
    def start(
        cls,
        config: CaptureConfig,
        store: CaptureStore,
        rng: random.Random,
        clock: Clock,
        redis: tuple[str, str, float] | None,
    ) -> Capture:
        """`redis`: (URL, namespace, timeout) of the Redis whose day count replicas share;
        None: this process counts its own."""
        cap: DayCap = MemoryDayCap(config.per_day)
        if redis is not None:
            url, namespace, timeout_s = redis
            cap = RedisDayCap(url, namespace, config.per_day, timeout_s)
        writer = CaptureWriter(
            store, cap, Redactor(config.redact), clock, retention_days=config.retention_days
        )
        lanes = None if config.every_lane else config.lanes
        observer = CaptureObserver(writer, lanes=lanes, share=config.share, rng=rng, clock=clock)
        return cls(writer, observer)

    def close(self) -> None:
        self.writer.close()
