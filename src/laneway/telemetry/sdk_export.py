"""laneway's spans for an OpenTelemetry SDK `SpanExporter` given in-process (a test's
`InMemorySpanExporter`, a library caller's own): each `SpanFacts` made a finished
`ReadableSpan` with the same resource and scope the OTLP encoder writes. The one module that
imports the OpenTelemetry SDK; only a caller that gives an SDK exporter loads it (the `otel`
extra).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from laneway.telemetry.span_export import ExportFailed
from laneway.telemetry.tracing_spans import (
    ERROR,
    SCHEMA_URL,
    SCOPE,
    SpanFacts,
    resource_attributes,
)

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_KINDS = {  # OTLP's SpanKind numbers to the API's
    1: SpanKind.INTERNAL,
    2: SpanKind.SERVER,
    3: SpanKind.CLIENT,
    4: SpanKind.PRODUCER,
    5: SpanKind.CONSUMER,
}
_UNSET = Status(StatusCode.UNSET)


class SdkSpans:
    """SpanFacts as ReadableSpans of one process's resource and scope."""

    def __init__(self, service_name: str, version: str) -> None:
        # Resource(...), not Resource.create: no environment detectors, exactly the attributes
        # the OTLP encoder writes.
        self.resource = Resource(resource_attributes(service_name, version))
        self.scope = InstrumentationScope(SCOPE, version, SCHEMA_URL)

    def readable(self, span: SpanFacts) -> ReadableSpan:
        parent = None
        if span.parent_span_id is not None:
            parent = SpanContext(span.trace_id, span.parent_span_id, span.parent_remote, _SAMPLED)
        status = _UNSET
        if span.status_code == ERROR:
            status = Status(StatusCode.ERROR, span.status_message)
        return ReadableSpan(
            span.name,
            SpanContext(span.trace_id, span.span_id, False, _SAMPLED),
            parent,
            self.resource,
            dict(span.attributes),
            kind=_KINDS[span.kind],
            status=status,
            start_time=span.start_ns,
            end_time=span.end_ns,
            instrumentation_scope=self.scope,
        )


class SdkExport:
    """A SpanExport over an SDK `SpanExporter`."""

    def __init__(self, exporter: SpanExporter, service_name: str, version: str) -> None:
        self._exporter = exporter
        self._spans = SdkSpans(service_name, version)

    def export(self, spans: Sequence[SpanFacts]) -> None:
        readable = self._spans.readable
        result = self._exporter.export([readable(span) for span in spans])
        if result is not SpanExportResult.SUCCESS:
            raise ExportFailed(f"{type(self._exporter).__name__} answered {result.name}")

    def shutdown(self) -> None:
        self._exporter.shutdown()
