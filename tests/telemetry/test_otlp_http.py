"""laneway's OTLP/HTTP exporter against a real collector endpoint on loopback (answers
scripted per request, bodies decoded with OpenTelemetry's own protobuf classes): the body and
headers sent, one keep-alive connection for many batches, retries after a backoff (the waits
recorded, never slept) or after the collector's Retry-After, giving up once `timeout_s` is
spent, gzip bodies, and a shipper's close ending a backoff at once. Headers from the
environment are parsed by laneway; a bad entry is refused without showing its value."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from laneway.clock import ManualClock
from laneway.errors import ConfigError
from laneway.telemetry.otlp_http import OtlpHttpExporter, parse_headers
from laneway.telemetry.otlp_proto import TraceEncoder
from laneway.telemetry.span_export import ExportFailed
from laneway.telemetry.tracing_export import SpanShipper
from laneway.telemetry.tracing_spans import (
    SCHEMA_URL,
    SCOPE,
    SpanFacts,
    SpanMaker,
    resource_attributes,
)
from tests.telemetry.collector import Answer, Collector
from tests.telemetry.span_records import samples


class Waits:
    """The exporter's waits, recorded; time moves on by each, nothing sleeps."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.seconds.append(seconds)
        self.clock.advance(seconds)
        return False


class Collectors:
    """Collectors made by a test, closed after it."""

    def __init__(self) -> None:
        self.made: list[Collector] = []

    def __call__(self, script: list[Answer] | None = None, drop: bool = False) -> Collector:
        self.made.append(Collector(script, drop))
        return self.made[-1]


class Exporters:
    """Exporters made by a test (waits recorded on a manual clock), shut down after it."""

    def __init__(self) -> None:
        self.made: list[OtlpHttpExporter] = []

    def __call__(
        self, endpoint: str, *, timeout_s: float = 10.0, gzip_body: bool = False
    ) -> tuple[OtlpHttpExporter, Waits]:
        clock = ManualClock()
        waits = Waits(clock)
        encoder = TraceEncoder(resource_attributes("laneway-test", "9"), SCOPE, "9", SCHEMA_URL)
        exporter = OtlpHttpExporter(
            endpoint,
            encoder,
            headers={"authorization": "Bearer t0ken", "x-tenant": "a b"},
            timeout_s=timeout_s,
            gzip_body=gzip_body,
            clock=clock,
            rng=random.Random(1),
            wait=waits,
        )
        self.made.append(exporter)
        return exporter, waits


@pytest.fixture
def collectors() -> Iterator[Collectors]:
    made = Collectors()
    yield made
    for collector in made.made:
        collector.close()


@pytest.fixture
def exporters() -> Iterator[Exporters]:
    made = Exporters()
    yield made
    for exporter in made.made:
        exporter.shutdown()


def some_spans() -> list[SpanFacts]:
    maker = SpanMaker(random.Random(2))
    return [span for trace, record in samples()[:2] for span in maker.spans(trace, record)]


def names(request: ExportTraceServiceRequest) -> list[str]:
    return [span.name for span in request.resource_spans[0].scope_spans[0].spans]


def test_a_batch_is_one_protobuf_post_with_the_headers(
    collectors: Collectors, exporters: Exporters
) -> None:
    collector = collectors()
    exporter, waits = exporters(collector.endpoint)
    spans = some_spans()
    exporter.export(spans)
    assert [names(body) for body in collector.bodies] == [[span.name for span in spans]]
    sent = collector.headers[0]
    assert sent["content-type"] == "application/x-protobuf"
    assert (sent["authorization"], sent["x-tenant"]) == ("Bearer t0ken", "a b")
    assert "content-encoding" not in sent
    assert waits.seconds == []


def test_batches_share_one_keep_alive_connection(
    collectors: Collectors, exporters: Exporters
) -> None:
    collector = collectors()
    exporter, _ = exporters(collector.endpoint)
    for _ in range(3):
        exporter.export(some_spans())
    assert len(collector.bodies) == 3
    assert exporter.connections == 1
    assert len(set(collector.peers)) == 1


def test_a_connection_the_collector_dropped_is_replaced_without_waiting(
    collectors: Collectors, exporters: Exporters
) -> None:
    collector = collectors(drop=True)
    exporter, waits = exporters(collector.endpoint)
    exporter.export(some_spans())
    time.sleep(0.05)  # the collector's side is closed by now
    exporter.export(some_spans())
    assert len(collector.bodies) == 2
    assert exporter.connections == 2
    assert waits.seconds == []


def test_a_503_is_retried_after_a_growing_jittered_backoff(
    collectors: Collectors, exporters: Exporters
) -> None:
    collector = collectors([(503, {}), (502, {})])
    exporter, waits = exporters(collector.endpoint)
    exporter.export(some_spans())
    assert len(collector.bodies) == 3  # two refusals, then delivered
    first, second = waits.seconds
    assert 0.8 <= first <= 1.2
    assert 1.6 <= second <= 2.4


def test_retry_after_is_honoured(collectors: Collectors, exporters: Exporters) -> None:
    collector = collectors([(429, {"retry-after": "3"}), (503, {"retry-after": "0"})])
    exporter, waits = exporters(collector.endpoint)
    exporter.export(some_spans())
    assert waits.seconds == [3.0, 0.0]
    assert len(collector.bodies) == 3


def test_retries_stop_when_the_timeout_is_spent_and_the_shipper_counts_a_failure(
    collectors: Collectors, exporters: Exporters
) -> None:
    collector = collectors([(503, {})] * 50)
    exporter, waits = exporters(collector.endpoint, timeout_s=10.0)
    shipper = SpanShipper(SpanMaker(random.Random(4)), exporter, flush_s=3600)
    shipper.put(*samples()[0])
    shipper.flush()
    shipper.close()
    assert shipper.failures == 1
    # About 1, 2 and 4 s; the next (about 8 s) would pass the 10 s, so the batch is given up.
    assert len(waits.seconds) == 3
    assert sum(waits.seconds) < 10.0
    assert len(collector.bodies) == 4


def test_a_retry_after_past_the_timeout_gives_up_at_once(
    collectors: Collectors, exporters: Exporters
) -> None:
    collector = collectors([(503, {"retry-after": "60"})])
    exporter, waits = exporters(collector.endpoint, timeout_s=10.0)
    with pytest.raises(ExportFailed, match="the collector answered 503"):
        exporter.export(some_spans())
    assert waits.seconds == []


def test_a_400_is_not_retried(collectors: Collectors, exporters: Exporters) -> None:
    collector = collectors([(400, {})])
    exporter, waits = exporters(collector.endpoint)
    with pytest.raises(ExportFailed, match="answered 400"):
        exporter.export(some_spans())
    assert len(collector.bodies) == 1
    assert waits.seconds == []


def test_a_collector_that_is_not_there_is_retried_then_given_up(
    collectors: Collectors, exporters: Exporters
) -> None:
    collector = collectors()
    collector.close()  # nothing listens on its port any more
    exporter, waits = exporters(collector.endpoint, timeout_s=5.0)
    with pytest.raises(ExportFailed, match="ConnectionRefusedError"):
        exporter.export(some_spans())
    assert len(waits.seconds) == 2  # about 1 and 2 s; about 4 more would pass the 5 s
    assert sum(waits.seconds) < 5.0


def test_gzip_bodies_when_configured(collectors: Collectors, exporters: Exporters) -> None:
    collector = collectors()
    exporter, _ = exporters(collector.endpoint, gzip_body=True)
    spans = some_spans()
    exporter.export(spans)
    assert collector.headers[0]["content-encoding"] == "gzip"
    assert names(collector.bodies[0]) == [span.name for span in spans]


def test_closing_the_shipper_ends_a_backoff_at_once(collectors: Collectors) -> None:
    collector = collectors([(503, {"retry-after": "30"})] * 5)
    stopping = threading.Event()
    encoder = TraceEncoder(resource_attributes("t", "9"), SCOPE, "9", SCHEMA_URL)
    exporter = OtlpHttpExporter(
        collector.endpoint, encoder, headers={}, timeout_s=60.0, gzip_body=False,
        clock=ManualClock(), rng=random.Random(1), wait=stopping.wait,
    )  # fmt: skip
    shipper = SpanShipper(SpanMaker(random.Random(4)), exporter, flush_s=0.01, stopping=stopping)
    shipper.put(*samples()[0])
    deadline = time.monotonic() + 5
    while not collector.bodies and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    shipper.close()  # shuts the exporter down too
    assert time.monotonic() - started < 5  # not the 30 s the collector asked for
    assert shipper.failures >= 1


def test_headers_from_the_environment() -> None:
    parsed = parse_headers(" Authorization = Bearer%20abc%3D ,x-tenant=t1,, api-key=k=v", "H")
    assert parsed == {"authorization": "Bearer abc=", "x-tenant": "t1", "api-key": "k=v"}
    assert parse_headers("", "H") == {}


@pytest.mark.parametrize(
    "text", ["Bearer s3cret-value", "=s3cret-value", "bad name=s3cret-value", "a=s3cret%0Avalue"]
)
def test_a_bad_header_entry_is_refused_without_its_value(text: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_headers(f"ok=1,{text}", "OTLP_HEADERS")
    message = str(refused.value)
    assert "entry 2 of $OTLP_HEADERS" in message
    assert "s3cret" not in message
