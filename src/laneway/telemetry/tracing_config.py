"""The `[tracing]` section: OpenTelemetry spans for each request and attempt (docs/tracing.md).
Absent, tracing is off. laneway encodes and sends the spans itself: no OpenTelemetry module is
imported either way.

    [tracing]
    exporter = "otlp"                                # or "none": trace ids only, no spans
    endpoint = "http://127.0.0.1:4318/v1/traces"     # OTLP over HTTP (protobuf)
    headers_env = "OTEL_EXPORTER_OTLP_HEADERS"       # "name=value,..." read from here, never logged
    service_name = "laneway"
    sample_ratio = 0.01                              # of requests that start a trace here
    compression = "none"                             # or "gzip": the request bodies
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from laneway.config_file import ENV_NAME, Strict


class TracingConfig(Strict):
    enabled: bool = True
    # "otlp": spans exported over OTLP/HTTP (laneway's own protobuf encoder). "none": every
    # request still gets a trace id (header, ledger, logs), continuing an incoming traceparent,
    # but no span is built or sent.
    exporter: Literal["otlp", "none"] = "otlp"
    endpoint: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:4318/v1/traces"
    headers_env: Annotated[str, Field(pattern=ENV_NAME)] = "OTEL_EXPORTER_OTLP_HEADERS"
    service_name: Annotated[str, Field(min_length=1, max_length=200)] = "laneway"
    # The share of requests without a sampled-or-not caller that are sampled (decided by the
    # trace id, as OpenTelemetry's TraceIdRatioBased); a caller's `traceparent` flag decides
    # for its own requests (parent-based). Low by default: a sampled request's spans cost about
    # a fifth of the request's own CPU to build and encode, and more to send at low rates
    # (docs/tracing.md, "What it costs").
    sample_ratio: Annotated[float, Field(ge=0, le=1)] = 0.01
    # Per batch, its retries (429, 502, 503, 504, connection failures) included.
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    # "gzip": smaller bodies for a remote collector, for some CPU; "none" suits a local agent.
    compression: Literal["none", "gzip"] = "none"
    # Spans waiting for export past this many requests are dropped (and counted), never
    # queued without bound.
    max_queue: Annotated[int, Field(ge=1, le=1_000_000)] = 8192

    @property
    def on(self) -> bool:
        return self.enabled

    @property
    def exports(self) -> bool:
        return self.enabled and self.exporter != "none"
