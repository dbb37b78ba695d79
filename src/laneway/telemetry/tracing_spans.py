"""A request's spans, built from its complete ledger record after the fact (on the span thread,
never the event loop), with OpenTelemetry's SDK types:

    {operation} {requested model}   SERVER  the request, as laneway served it (its caller's
                                            span its parent, when a `traceparent` came)
      {operation} {model}           CLIENT  one per attempt at an upstream, in order

Names and attributes follow the GenAI semantic conventions (docs/tracing.md names the
revision); laneway's own facts are `laneway.*`. The spans are made as finished spans
(`ReadableSpan`), with the times the record and the attempt hooks noted and ids drawn here:
cheaper than starting and ending live spans through a tracer, which would only copy them into
the same type, and the trace id is the one the client was already given.
"""

from __future__ import annotations

import random

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.pricing.money import usd_str
from laneway.telemetry.trace_context import trace_id_hex
from laneway.telemetry.tracing import Trace

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
# laneway speaks OpenAI's API to every upstream: the GenAI conventions' "openai" flavour.
PROVIDER = "openai"
_OPERATIONS = {"chat": "chat", "responses": "chat", "embeddings": "embeddings"}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)
_NS = 1_000_000_000
_ERROR_TEXT_MAX = 200

Attributes = dict[str, AttributeValue]


class SpanMaker:
    """Spans of one process: its resource (service name, version) and instrumentation scope,
    and the random source span ids are drawn from (the span thread's own)."""

    def __init__(self, service_name: str, version: str, ids: random.Random) -> None:
        self.resource = Resource.create({"service.name": service_name, "service.version": version})
        self._scope = InstrumentationScope("laneway", version, SCHEMA_URL)
        self._ids = ids

    def spans(self, trace: Trace, record: LedgerRecord) -> list[ReadableSpan]:
        """The request's span, then one per attempt."""
        parent = None
        if trace.parent_span_id is not None:
            parent = SpanContext(trace.trace_id, trace.parent_span_id, True, _SAMPLED)
        own = SpanContext(trace.trace_id, self._span_id(), False, _SAMPLED)
        end = int((record.settled_at or record.created_at) * _NS)
        start = end - int((record.latency_ms or 0.0) * 1e6)
        attributes = request_attributes(record)
        status, error = request_status(record)
        if error is not None:
            attributes["error.type"] = error
        operation = _OPERATIONS.get(record.endpoint, record.endpoint)
        made = [
            self._span(
                f"{operation} {record.requested_model}",
                own,
                parent,
                SpanKind.SERVER,
                attributes,
                status,
                (start, end),
            )
        ]
        made.extend(self._attempt_spans(trace, record, own, operation, end))
        return made

    def _attempt_spans(
        self, trace: Trace, record: LedgerRecord, own: SpanContext, operation: str, end: int
    ) -> list[ReadableSpan]:
        """One CLIENT span per attempt, each ending when its hook noted (else with the
        request), starting its latency before."""
        made = []
        attempts = record.attempts
        ends = trace.attempt_ends
        for index, attempt in enumerate(attempts):
            finished = int(ends[index] * _NS) if index < len(ends) else end
            following = attempts[index + 1] if index + 1 < len(attempts) else None
            attributes = attempt_attributes_of(operation, index, attempt, following)
            if following is None and record.answering_model is not None:  # it answered
                attributes.update(usage_attributes(record))
            status = _UNSET
            if "error.type" in attributes:
                status = Status(StatusCode.ERROR, (attempt.error or "")[:_ERROR_TEXT_MAX] or None)
            made.append(
                self._span(
                    f"{operation} {attempt.model}",
                    SpanContext(trace.trace_id, self._span_id(), False, _SAMPLED),
                    own,
                    SpanKind.CLIENT,
                    attributes,
                    status,
                    (finished - int(attempt.latency_ms * 1e6), finished),
                )
            )
        return made

    def _span_id(self) -> int:
        return self._ids.getrandbits(64) or 1

    def _span(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Attributes,
        status: Status,
        times: tuple[int, int],
    ) -> ReadableSpan:
        return ReadableSpan(
            name,
            context,
            parent,
            self.resource,
            attributes,
            kind=kind,
            status=status,
            start_time=times[0],
            end_time=times[1],
            instrumentation_scope=self._scope,
        )


def request_attributes(record: LedgerRecord) -> Attributes:
    """The request span's attributes: GenAI's, then laneway's own (never a prompt, a key or an
    upstream's error text)."""
    attributes: Attributes = {
        "gen_ai.operation.name": _OPERATIONS.get(record.endpoint, record.endpoint),
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": record.requested_model,
        "laneway.record_id": record.id,
        "laneway.status": record.status,
        "laneway.endpoint": record.endpoint,
        "laneway.stream": record.stream,
        "laneway.attempts": len(record.attempts),
    }
    optional: dict[str, AttributeValue | None] = {
        "gen_ai.response.model": record.answering_model,
        "gen_ai.response.id": record.response_id,
        "http.response.status_code": record.http_status,
        "laneway.lane": record.lane,
        "laneway.key_id": record.key_id,
        "laneway.provider": record.provider,
        "laneway.refusal": record.refusal,
        "laneway.cost_basis": record.cost_basis,
        "laneway.upstream_request_id": record.upstream_request_id,
        "laneway.pair_id": record.pair_id,
        "laneway.run_id": record.run_id,
    }
    attributes.update((name, value) for name, value in optional.items() if value is not None)
    # Exact, as text (an attribute has no decimal type); absent when unknown, never 0.
    if record.cost_usd is not None:
        attributes["laneway.cost_usd"] = usd_str(record.cost_usd)
    if record.shadow:
        attributes["laneway.shadow"] = True
    attributes.update(usage_attributes(record))
    return attributes


def usage_attributes(record: LedgerRecord) -> Attributes:
    usage = record.usage
    if usage is None:
        return {}
    return {
        "gen_ai.usage.input_tokens": usage.input_tokens,  # cached included, as GenAI counts
        "gen_ai.usage.output_tokens": usage.output_tokens,  # reasoning included
        "gen_ai.usage.cache_read.input_tokens": usage.cached_input_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
    }


def request_status(record: LedgerRecord) -> tuple[Status, str | None]:
    """The request span's status and `error.type`. A refusal laneway made (budget, rate limit,
    bad input, ...) is the request handled as designed: status unset, `error.type` its origin.
    A request that got no answer, or whose stream broke, is an error."""
    if record.status == "ok":
        return _UNSET, None
    if record.status == "refused":
        return _UNSET, record.refusal or str(record.http_status)
    if record.status == "broken":
        return Status(StatusCode.ERROR, "the stream broke after bytes were sent"), "broken_stream"
    http = record.http_status
    error = record.refusal or (str(http) if http is not None else "error")
    return Status(StatusCode.ERROR, f"no answer (HTTP {http})"), error


def attempt_attributes_of(
    operation: str, index: int, attempt: Attempt, following: Attempt | None
) -> Attributes:
    """An attempt's attributes; a failed one's `error.type` is the upstream's status (or
    `no_response`: refused, reset or timed out), and `laneway.attempt.next` says whether
    laneway then retried the same model and provider or fell back to another."""
    attributes: Attributes = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": attempt.model,
        "laneway.provider": attempt.provider,
        "laneway.attempt": index + 1,
    }
    status = attempt.status
    if status is not None:
        attributes["http.response.status_code"] = status
    if status is None or status >= 400:
        attributes["error.type"] = "no_response" if status is None else str(status)
        if attempt.error:
            attributes["laneway.attempt.error"] = attempt.error[:_ERROR_TEXT_MAX]
    if following is not None:
        same = (following.provider, following.model) == (attempt.provider, attempt.model)
        attributes["laneway.attempt.next"] = "retry" if same else "fallback"
    return attributes


__all__ = ["SpanMaker", "trace_id_hex"]
