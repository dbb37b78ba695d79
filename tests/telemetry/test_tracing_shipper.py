"""The span thread: woken by a full batch before its timer, bounded (the newest dropped and
counted past `max_queue`), an exporter that fails costs spans, never an exception, and closing
ends an exporter's backoff at once. An SDK exporter is reached through sdk_export."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from laneway.ledger.record import LedgerRecord
from laneway.telemetry.sdk_export import SdkExport
from laneway.telemetry.tracing import Trace
from laneway.telemetry.tracing_export import BATCH, SpanShipper
from laneway.telemetry.tracing_spans import SpanMaker


def refused(index: int) -> tuple[Trace, LedgerRecord]:
    record = LedgerRecord(
        f"req_{index}", 1.0, None, "chat", "gpt-5.4-mini", False, status="refused",
        http_status=429, refusal="budget", latency_ms=1.0, settled_at=2.0,
    )  # fmt: skip
    return Trace(index + 1), record


def maker() -> SpanMaker:
    return SpanMaker(random.Random(3))


def sdk(exporter: SpanExporter) -> SdkExport:
    return SdkExport(exporter, "laneway-test", "0")


def test_a_full_batch_wakes_the_thread_before_its_timer() -> None:
    exporter = InMemorySpanExporter()
    shipper = SpanShipper(maker(), sdk(exporter), flush_s=3600)
    try:
        for index in range(BATCH + 1):
            shipper.put(*refused(index))
        deadline = time.monotonic() + 10
        while len(exporter.get_finished_spans()) < BATCH + 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(exporter.get_finished_spans()) == BATCH + 1  # one span each: refusals
    finally:
        shipper.close()


def test_past_max_queue_the_newest_are_dropped_and_counted() -> None:
    exporter = InMemorySpanExporter()
    shipper = SpanShipper(maker(), sdk(exporter), max_queue=10, flush_s=3600)
    for index in range(15):
        shipper.put(*refused(index))
    assert shipper.dropped == 5
    shipper.close()  # ships what waits
    ids = sorted(s.context.trace_id for s in exporter.get_finished_spans())
    assert ids == list(range(1, 11))


class Failing(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        raise ConnectionError("the collector is down")


def test_a_failing_exporter_loses_spans_and_nothing_else() -> None:
    failing = Failing()
    shipper = SpanShipper(maker(), sdk(failing), flush_s=3600)
    shipper.put(*refused(0))
    shipper.flush()
    shipper.put(*refused(1))
    shipper.close()
    assert failing.calls == 2
    assert shipper.failures == 2


class Refusing(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.FAILURE


def test_an_sdk_exporters_failure_result_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    shipper = SpanShipper(maker(), sdk(Refusing()), flush_s=3600)
    shipper.put(*refused(0))
    shipper.close()
    assert shipper.failures == 1
    assert "Refusing answered FAILURE" in caplog.text
