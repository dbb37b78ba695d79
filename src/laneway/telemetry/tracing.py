"""Traces, on the request path: a trace id for every request, and the facts its spans are built
from, handed to a sink that builds and exports them on a thread of its own (tracing_export).

What runs here, inside the request, is only what must: at its start the trace id is taken from
the caller's `traceparent` (laneway's span becomes a child of the caller's) or drawn from the
gateway's random source, the sampling decision is made, and the id is set on the record
(`trace_id`: a ledger column, sent as `x-laneway-trace-id`). A sampled request then notes
the wall-clock end of each attempt, and at settlement hands its record to the sink. No
OpenTelemetry module is imported here: with `exporter = "none"` there is no sink, and only the
ids are made.

Sampling is parent-based: a caller's sampled flag decides for its requests; requests that
start a trace are sampled when the low 64 bits of their trace id fall under `sample_ratio` of
the range (what OpenTelemetry's TraceIdRatioBased decides from the same id).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from laneway.clock import Clock
from laneway.gateway.observers import Bodies, Exchange, Observer
from laneway.ledger.record import Attempt, LedgerRecord
from laneway.telemetry.trace_context import parse_traceparent, trace_id_hex

_LOW64 = (1 << 64) - 1


@dataclass(slots=True)
class Trace:
    """A sampled request's trace: its id, the caller's span (None: laneway's span is the
    root), and when each attempt ended (unix seconds, in the record's attempt order)."""

    trace_id: int
    parent_span_id: int | None = None
    attempt_ends: list[float] = field(default_factory=list)


class SpanSink(Protocol):
    """Where a sampled request's facts go once its record is complete (tracing_export)."""

    def put(self, trace: Trace, record: LedgerRecord) -> None: ...


class TraceIds(Observer):
    """Every request gets a trace id (continued from its caller's `traceparent` when one came):
    set on its record, so it reaches the ledger, the response header and the logs."""

    wants_traceparent: ClassVar[bool] = True

    def __init__(self, rng: random.Random, sample_ratio: float = 1.0) -> None:
        self._draw = rng.getrandbits
        self._bound = round(sample_ratio * (1 << 64))

    def request_started(self, exchange: Exchange) -> None:
        # The id alone (no sampling decision: nothing is built here), the common case inline.
        header = exchange.request.traceparent
        parent = parse_traceparent(header) if header is not None else None
        trace_id = (self._draw(128) or 1) if parent is None else parent.trace_id
        _set_trace_id(exchange.record, trace_id)

    def refused(self, record: LedgerRecord, traceparent: bytes | None = None) -> None:
        self.begin(record, traceparent)

    def begin(self, record: LedgerRecord, traceparent: bytes | None) -> Trace | None:
        """Set the request's trace id on its record (continued from the caller's
        `traceparent` when one came, else drawn); its Trace when it is sampled."""
        parent = parse_traceparent(traceparent) if traceparent is not None else None
        if parent is None:
            trace_id = self._draw(128) or 1  # all zeros is no trace id
            trace = Trace(trace_id) if (trace_id & _LOW64) < self._bound else None
        else:
            trace_id = parent.trace_id
            trace = Trace(trace_id, parent.span_id) if parent.sampled else None
        _set_trace_id(record, trace_id)
        return trace


def _set_trace_id(record: LedgerRecord, trace_id: int) -> None:
    record.trace_id = trace_id_hex(trace_id)


class SpanTracer(TraceIds):
    """Trace ids, and spans: a sampled request's facts go to `sink` when it settles. It follows
    only the sampled exchanges: the others cost no attempt or settlement hook."""

    follows_per_exchange: ClassVar[bool] = True

    def __init__(
        self, sink: SpanSink, rng: random.Random, clock: Clock, sample_ratio: float = 1.0
    ) -> None:
        super().__init__(rng, sample_ratio)
        self._sink = sink
        self._time = clock.time
        self._open: dict[Exchange, Trace] = {}  # sampled exchanges, until they settle

    def request_started(self, exchange: Exchange) -> None:
        trace = self.begin(exchange.record, exchange.request.traceparent)
        if trace is not None:
            self._open[exchange] = trace
            exchange.follow(self)

    def attempt_ended(self, exchange: Exchange, attempt: Attempt) -> None:
        trace = self._open.get(exchange)
        if trace is not None:
            trace.attempt_ends.append(self._time())

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        trace = self._open.pop(exchange, None)
        if trace is not None:
            self._sink.put(trace, exchange.record)

    def refused(self, record: LedgerRecord, traceparent: bytes | None = None) -> None:
        trace = self.begin(record, traceparent)
        if trace is not None:
            self._sink.put(trace, record)
