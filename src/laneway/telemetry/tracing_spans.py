"""A request's spans, built from its complete ledger record after the fact (on the span thread,
never the event loop), as laneway's own small value type (`SpanFacts`), no OpenTelemetry type:

    {operation} {requested model}   SERVER  the request, as laneway served it (its caller's
                                            span its parent, when a `traceparent` came)
      {operation} {model}           CLIENT  one per attempt at an upstream, in order

Names and attributes follow the GenAI semantic conventions (docs/tracing.md names the
revision); laneway's own facts are `laneway.*`. The spans are made finished, with the times the
record and the attempt hooks noted and ids drawn here: the trace id is the one the client was
already given. otlp_proto encodes them for OTLP; sdk_export turns them into OpenTelemetry SDK
spans for an in-process `SpanExporter`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.pricing.money import usd_str
from laneway.telemetry.tracing import Trace

SCOPE = "laneway"  # the instrumentation scope's name
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
# laneway speaks OpenAI's API to every upstream: the GenAI conventions' "openai" flavour.
PROVIDER = "openai"
# OTLP's enums (opentelemetry/proto/trace/v1/trace.proto): Span.SpanKind, Status.StatusCode.
SERVER = 2
CLIENT = 3
UNSET = 0
ERROR = 2
_OPERATIONS = {"chat": "chat", "responses": "chat", "embeddings": "embeddings"}
_NS = 1_000_000_000
_ERROR_TEXT_MAX = 200

AttributeValue = str | bool | int | float
Attributes = dict[str, AttributeValue]


@dataclass(slots=True)
class SpanFacts:
    """One finished span: what OTLP's `Span` carries of it. `parent_remote`: the parent is the
    caller's span (from its `traceparent`), not one of laneway's."""

    name: str
    trace_id: int
    span_id: int
    parent_span_id: int | None
    parent_remote: bool
    kind: int  # SERVER or CLIENT
    start_ns: int
    end_ns: int
    attributes: Attributes
    status_code: int = UNSET  # UNSET or ERROR
    status_message: str | None = None


def resource_attributes(service_name: str, version: str) -> Attributes:
    """The spans' resource. `telemetry.sdk.*` names laneway, which builds and encodes its spans
    itself (no OpenTelemetry SDK involved)."""
    return {
        "service.name": service_name,
        "service.version": version,
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "laneway",
        "telemetry.sdk.version": version,
    }


class SpanMaker:
    """Spans of one process, span ids drawn from the span thread's own random source."""

    def __init__(self, ids: random.Random) -> None:
        self._ids = ids

    def spans(self, trace: Trace, record: LedgerRecord) -> list[SpanFacts]:
        """The request's span, then one per attempt."""
        end = int((record.settled_at or record.created_at) * _NS)
        start = end - int((record.latency_ms or 0.0) * 1e6)
        attributes = request_attributes(record)
        code, message, error = request_status(record)
        if error is not None:
            attributes["error.type"] = error
        operation = _OPERATIONS.get(record.endpoint, record.endpoint)
        parent = trace.parent_span_id
        own = SpanFacts(
            f"{operation} {record.requested_model}",
            trace.trace_id,
            self._span_id(),
            parent,
            parent is not None,
            SERVER,
            start,
            end,
            attributes,
            code,
            message,
        )
        return [own, *self._attempt_spans(trace, record, own.span_id, operation, end)]

    def _attempt_spans(
        self, trace: Trace, record: LedgerRecord, own: int, operation: str, end: int
    ) -> list[SpanFacts]:
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
            span = SpanFacts(
                f"{operation} {attempt.model}",
                trace.trace_id,
                self._span_id(),
                own,
                False,
                CLIENT,
                finished - int(attempt.latency_ms * 1e6),
                finished,
                attributes,
            )
            if "error.type" in attributes:
                span.status_code = ERROR
                span.status_message = (attempt.error or "")[:_ERROR_TEXT_MAX] or None
            made.append(span)
        return made

    def _span_id(self) -> int:
        return self._ids.getrandbits(64) or 1


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
    _add_known(attributes, record)
    # Exact, as text (an attribute has no decimal type); absent when unknown, never 0.
    if record.cost_usd is not None:
        attributes["laneway.cost_usd"] = usd_str(record.cost_usd)
    if record.shadow:
        attributes["laneway.shadow"] = True
    attributes.update(usage_attributes(record))
    return attributes


def _add_known(attributes: Attributes, record: LedgerRecord) -> None:
    """The record's optional facts, each when known (a straight run of tests, no mapping to
    filter: this runs for every sampled request)."""
    if record.answering_model is not None:
        attributes["gen_ai.response.model"] = record.answering_model
    if record.response_id is not None:
        attributes["gen_ai.response.id"] = record.response_id
    if record.http_status is not None:
        attributes["http.response.status_code"] = record.http_status
    if record.lane is not None:
        attributes["laneway.lane"] = record.lane
    if record.key_id is not None:
        attributes["laneway.key_id"] = record.key_id
    if record.provider is not None:
        attributes["laneway.provider"] = record.provider
    if record.refusal is not None:
        attributes["laneway.refusal"] = record.refusal
    if record.cost_basis is not None:
        attributes["laneway.cost_basis"] = record.cost_basis
    if record.upstream_request_id is not None:
        attributes["laneway.upstream_request_id"] = record.upstream_request_id
    if record.pair_id is not None:
        attributes["laneway.pair_id"] = record.pair_id
    if record.run_id is not None:
        attributes["laneway.run_id"] = record.run_id


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


def request_status(record: LedgerRecord) -> tuple[int, str | None, str | None]:
    """The request span's status code and message, and its `error.type`. A refusal laneway
    made (budget, rate limit, bad input, ...) is the request handled as designed: status unset,
    `error.type` its origin. A request that got no answer, or whose stream broke, is an error."""
    if record.status == "ok":
        return UNSET, None, None
    if record.status == "refused":
        return UNSET, None, record.refusal or str(record.http_status)
    if record.status == "broken":
        return ERROR, "the stream broke after bytes were sent", "broken_stream"
    http = record.http_status
    error = record.refusal or (str(http) if http is not None else "error")
    return ERROR, f"no answer (HTTP {http})", error


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


__all__ = ["SpanFacts", "SpanMaker"]
