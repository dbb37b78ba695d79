"""What the span thread hands its batches to: laneway's OTLP/HTTP exporter (otlp_http), or an
OpenTelemetry SDK `SpanExporter` behind its adapter (sdk_export)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from laneway.errors import LanewayError

if TYPE_CHECKING:
    from laneway.telemetry.tracing_spans import SpanFacts


class ExportFailed(LanewayError):
    """A batch did not arrive; the message says why (never a header's value). Caught by the
    span thread, which counts and logs it: it never reaches a request."""


class SpanExport(Protocol):
    def export(self, spans: Sequence[SpanFacts]) -> None:
        """Deliver the batch, or raise (ExportFailed when the reason is known)."""
        ...

    def shutdown(self) -> None:
        """Release what it holds (a connection); called once, after the last export."""
        ...
