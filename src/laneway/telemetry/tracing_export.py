"""Where sampled requests' spans are built and exported: a thread of its own, off the event loop.

The request path only appends (trace, record) to a bounded queue (`SpanShipper.put`: no lock;
a wake-up only once a batch's worth waits). The thread wakes every `flush_s` (5 s) or on that
wake-up, builds the spans of what is waiting (tracing_spans) and hands them to the exporter in
batches. A full queue drops the newest and counts it; an exporter that fails is logged once per
`_LOGGED_EVERY` failures, and never reaches a request.

`tracing_observer` builds it all from `[tracing]`: laneway's own OTLP/HTTP exporter
(otlp_http; no OpenTelemetry module involved), or any OpenTelemetry SDK `SpanExporter` the
caller gives (a test's in-memory one), behind its adapter (sdk_export, the `otel` extra).
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Mapping
from importlib.metadata import version
from typing import TYPE_CHECKING

from laneway.clock import Clock
from laneway.errors import ConfigError
from laneway.ledger.record import LedgerRecord
from laneway.telemetry.span_export import ExportFailed, SpanExport
from laneway.telemetry.tracing import SpanTracer, Trace, TraceIds
from laneway.telemetry.tracing_config import TracingConfig

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from laneway.telemetry.otlp_http import OtlpHttpExporter
    from laneway.telemetry.tracing_spans import SpanFacts, SpanMaker

log = logging.getLogger(__name__)

# As OpenTelemetry's BatchSpanProcessor (its defaults): every 5 s, up to 512 spans per export
# call. Each call has a fixed cost (encoding the resource, an HTTP request) that a shorter delay
# pays more often for fewer spans.
FLUSH_S = 5.0
BATCH = 512
_LOGGED_EVERY = 100
INSTALL_HINT = (
    "an OpenTelemetry SpanExporter was given: install laneway[otel] (pip install 'laneway[otel]')"
)


class SpanShipper:
    """Requests' facts in (on the event loop), spans out (on its thread)."""

    def __init__(
        self,
        maker: SpanMaker,
        exporter: SpanExport,
        *,
        max_queue: int = 8192,
        flush_s: float = FLUSH_S,
        stopping: threading.Event | None = None,
    ) -> None:
        """`stopping`: set by `close`; the exporter's waits (its backoff) end when it is."""
        self._maker = maker
        self._exporter = exporter
        self._max_queue = max_queue
        self._flush_s = flush_s
        self._queue: deque[tuple[Trace, LedgerRecord]] = deque()
        self._shipping = threading.Lock()  # one batch at a time: the thread's, or flush()'s
        self._due = threading.Event()  # a batch is waiting (or the shipper is closing)
        self._stopping = stopping or threading.Event()
        self.dropped = 0  # requests whose spans found the queue full
        self.failures = 0  # export calls that failed
        self._thread = threading.Thread(target=self._run, name="laneway-spans", daemon=True)
        self._thread.start()

    def put(self, trace: Trace, record: LedgerRecord) -> None:
        """From the event loop: an append (atomic under the GIL); once a batch's worth waits,
        the thread is woken rather than left to its timer."""
        queue = self._queue
        waiting = len(queue)
        if waiting >= self._max_queue:
            self.dropped += 1
            return
        queue.append((trace, record))
        if waiting == BATCH:
            self._due.set()

    def flush(self) -> None:
        """Build and export everything waiting, now (tests; `close`)."""
        with self._shipping:
            self._ship()

    def close(self) -> None:
        """Stop the thread, export what waits, shut the exporter down (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._due.set()
        self._thread.join(timeout=30)
        self.flush()
        self._exporter.shutdown()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._due.wait(self._flush_s)
            self._due.clear()
            self.flush()

    def _ship(self) -> None:
        queue, maker = self._queue, self._maker
        while queue:
            batch: list[SpanFacts] = []
            while queue and len(batch) < BATCH:
                trace, record = queue.popleft()
                batch.extend(maker.spans(trace, record))
            try:
                self._exporter.export(batch)
            except Exception as failed:  # spans are lost, never a request
                self.failures += 1
                if self.failures % _LOGGED_EVERY == 1:
                    # A known reason in a line; anything else with its traceback.
                    known = isinstance(failed, ExportFailed)
                    log.warning(
                        "exporting spans failed (%d times so far): %s",
                        self.failures,
                        failed if known else type(failed).__name__,
                        exc_info=not known,
                    )


def tracing_observer(
    config: TracingConfig,
    env: Mapping[str, str],
    clock: Clock,
    rng: random.Random,
    exporter: SpanExporter | None = None,
) -> tuple[TraceIds, SpanShipper | None]:
    """The tracing observer for `[tracing]`, and its shipper to close (None when spans are
    not exported). `exporter`: instead of OTLP (tests, library callers with their own)."""
    if exporter is None and not config.exports:
        return TraceIds(rng, config.sample_ratio), None
    # Span building and export are imported only by a gateway that exports spans.
    from laneway.telemetry.tracing_spans import SpanMaker  # noqa: PLC0415

    # The span thread draws span ids (and its backoff's jitter) from its own sources, seeded
    # from the gateway's, so that a seeded gateway makes the same ids and the request path's
    # draws are not interleaved.
    maker = SpanMaker(random.Random(rng.getrandbits(64)))  # noqa: S311
    stopping = threading.Event()
    export: SpanExport
    if exporter is None:
        export = _otlp(config, env, clock, random.Random(rng.getrandbits(64)), stopping)  # noqa: S311
    else:
        try:
            from laneway.telemetry.sdk_export import SdkExport  # noqa: PLC0415 - the otel extra
        except ImportError as missing:
            raise ConfigError(f"{INSTALL_HINT} ({missing.name} is missing)") from None
        export = SdkExport(exporter, config.service_name, version("laneway"))
    shipper = SpanShipper(maker, export, max_queue=config.max_queue, stopping=stopping)
    return SpanTracer(shipper, rng, clock, config.sample_ratio), shipper


def _otlp(
    config: TracingConfig,
    env: Mapping[str, str],
    clock: Clock,
    jitter: random.Random,
    stopping: threading.Event,
) -> OtlpHttpExporter:
    from laneway.telemetry.otlp_http import OtlpHttpExporter, parse_headers  # noqa: PLC0415
    from laneway.telemetry.otlp_proto import TraceEncoder  # noqa: PLC0415
    from laneway.telemetry.tracing_spans import SCHEMA_URL, SCOPE, resource_attributes  # noqa: PLC0415

    laneway = version("laneway")
    encoder = TraceEncoder(
        resource_attributes(config.service_name, laneway), SCOPE, laneway, SCHEMA_URL
    )
    return OtlpHttpExporter(
        config.endpoint,
        encoder,
        headers={
            "user-agent": f"laneway/{laneway}",
            **parse_headers(env.get(config.headers_env, ""), config.headers_env),
        },
        timeout_s=config.timeout_s,
        gzip_body=config.compression == "gzip",
        clock=clock,
        rng=jitter,
        wait=stopping.wait,
    )
