"""The gateway's answers and errors as HTTP: the body as it came, and laneway's headers.

x-laneway-request-id   the ledger record's id, a refusal's too (a fresh id when the request got
                       no record: unauthenticated, or not an API call)
x-laneway-attempts     attempts made, retries and fallbacks included
x-request-id           the upstream's own request id, when it gave one
x-laneway-lane         the lane that routed it, if any
x-laneway-route        the routing summary
x-laneway-model        the model that answered, and x-laneway-provider where
x-laneway-cost-usd     the exact cost of a whole answer ("unknown" when it is)
x-laneway-output-cap   the output cap laneway set on the request (a budget applied and the
                       request set none), in tokens
x-laneway-trace-id     the request's W3C trace id, when [tracing] is on (a refusal's too)
x-laneway-<name>       each annotation an observer attached
"""

from __future__ import annotations

from laneway.gateway.answer import Answer, AnswerMeta
from laneway.http.messages import HeaderList, Response, StreamResponse
from laneway.ids import new_id
from laneway.ledger.record import LedgerRecord
from laneway.pricing.money import usd_str
from laneway.wire.errors import as_api_error


def to_http(answer: Answer | Response | StreamResponse) -> Response | StreamResponse:
    """The gateway's answer as HTTP; a Response or StreamResponse passes as it is (the app's
    other routes make their own)."""
    if type(answer) is not Answer:
        return answer  # type: ignore[return-value]  # one of the HTTP messages
    meta = answer.meta
    stream = answer.stream
    if stream is None:
        return Response(answer.status, answer.body, laneway_headers(meta, answered=True))
    return StreamResponse(answer.status, stream, laneway_headers(meta, answered=True))


def render_error(error: Exception) -> Response:
    """Any failure as OpenAI's error shape, with laneway's headers when it has a record."""
    api_error = as_api_error(error)
    headers = list(api_error.headers.items())
    meta = api_error.meta
    if isinstance(meta, AnswerMeta):
        headers += laneway_headers(meta, answered=False)
    elif isinstance(meta, LedgerRecord):  # a refusal recorded before routing
        headers.append(("x-laneway-request-id", meta.id))
        if meta.trace_id is not None:
            headers.append(("x-laneway-trace-id", meta.trace_id))
    else:  # no record has this id
        headers.append(("x-laneway-request-id", new_id("req")))
    return Response(api_error.status, api_error.body(), headers)


def laneway_headers(meta: AnswerMeta, *, answered: bool) -> HeaderList:
    """`answered`: a model's answer (its model, provider and, once settled, its cost)."""
    record = meta.record  # its fields read directly: this runs on every request
    headers = [
        ("x-laneway-request-id", record.id),
        ("x-laneway-attempts", str(len(record.attempts))),
    ]
    upstream_id = record.upstream_request_id
    if upstream_id:
        headers.append(("x-request-id", upstream_id))
    lane = record.lane
    if lane is not None:
        headers.append(("x-laneway-lane", lane))
    headers.append(("x-laneway-route", meta.explanation.header()))
    cap = record.output_cap
    if cap is not None:
        headers.append(("x-laneway-output-cap", str(cap)))
    if answered:
        headers.append(("x-laneway-model", record.answering_model or ""))
        headers.append(("x-laneway-provider", record.provider or ""))
        if record.settled:  # a whole answer: its cost is known
            cost = record.cost_usd
            headers.append(("x-laneway-cost-usd", usd_str(cost) if cost is not None else "unknown"))
    trace_id = record.trace_id
    if trace_id is not None:
        headers.append(("x-laneway-trace-id", trace_id))
    annotations = record.annotations
    if annotations:
        headers += [(f"x-laneway-{name}", value) for name, value in annotations.items()]
    return headers
