"""A gateway with `[tracing]` on, in front of a live emulator, its spans kept by the SDK's
in-memory exporter (given through the library API: `GatewayServer(span_exporter=...)`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig, FaultRule
from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.cli.conftest import run
from tests.gateway.conftest import (
    BROKEN_MODEL,
    PROVIDER_KEY,
    RecordedSleep,
    Running,
    gateway_config,
)

# The `laneway` command in-process, as a fixture here too; the gateway tests' names.
__all__ = ["BROKEN_MODEL", "PROVIDER_KEY", "run"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        seed=23,
        speed=0,
        tier="none",
        faults=(FaultRule(kind="status", status=503, models=(BROKEN_MODEL,)),),
    )
    with EmulatorServer(config) as server:
        yield server


def traced_config(emulator: EmulatorServer, ledger: Path, **sections: Any) -> GatewayConfig:
    """The gateway tests' config, with two lanes (one with a budget nothing fits) and
    `[tracing]` sampling every request."""
    raw: dict[str, Any] = {
        "lanes": {
            "support": {"candidates": ["gpt-5.4-mini"], "effort": "low"},
            "tiny": {"candidates": ["gpt-5.4-mini"]},
        },
        "budgets": {"lanes": {"tiny": "0.000000001/day"}},
        "tracing": {"service_name": "laneway-test", "sample_ratio": 1.0},
    }
    raw.update(sections)
    return gateway_config(emulator, ledger, **raw)


class Traced(Running):
    """A started gateway (records read as the gateway tests read them) and the spans it
    exported."""

    def __init__(
        self, server: GatewayServer, sleep: RecordedSleep, exporter: InMemorySpanExporter
    ) -> None:
        super().__init__(server, sleep)
        self.exporter = exporter

    def spans_of(self, record_id: str, count: int, wait_s: float = 5.0) -> list[ReadableSpan]:
        """The request's span and its attempts' (`count` in all), waiting for a stream to
        settle; the request's span first."""
        assembly = self.server.assembly
        assert assembly is not None
        assert assembly.tracing is not None
        shipper = assembly.tracing[1]
        assert shipper is not None
        deadline = time.monotonic() + wait_s
        while True:
            shipper.flush()
            spans = self.exporter.get_finished_spans()
            ours = [s for s in spans if (s.attributes or {}).get("laneway.record_id") == record_id]
            if ours:
                trace_id = ours[0].context.trace_id
                parent = ours[0].context.span_id
                children = [s for s in spans if s.parent is not None and s.parent.span_id == parent]
                assert children == [] or all(c.context.trace_id == trace_id for c in children)
                if len(ours) + len(children) >= count:
                    return [*ours, *children]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count} spans for {record_id}: {len(spans)} in all")
            time.sleep(0.02)


def start_traced(config: GatewayConfig) -> Traced:
    exporter, sleep = InMemorySpanExporter(), RecordedSleep()
    server = GatewayServer(config, {"EMU_KEY": PROVIDER_KEY}, sleep=sleep, span_exporter=exporter)
    return Traced(server.start(), sleep, exporter)


@pytest.fixture(scope="module")
def traced(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    running = start_traced(traced_config(emulator, tmp_path_factory.mktemp("t") / "ledger.db"))
    try:
        yield running
    finally:
        running.server.stop()
