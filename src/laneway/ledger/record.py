"""What the ledger keeps about one request.

A record is written twice: reserved (status "reserved") before the upstream call, and settled
with the outcome after. A record still "reserved" after a restart is a request whose outcome
was lost in a crash: visible, never silent. Retries and fallbacks are attempts inside the one
record, never records of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from laneway.pricing.money import USD, usd_str
from laneway.usage import Usage

RecordStatus = Literal["reserved", "ok", "error", "broken", "refused"]
# ok: answered in full; error: failed before any byte reached the client (the client got an
# error); broken: a stream that failed after bytes were sent (it ended with an error event);
# refused: laneway answered an error itself before any upstream call (see `refusal`).
CostBasis = Literal["estimated", "no_usage", "abandoned"]
# Why a record's cost is not the upstream's exact figure (None: it is, or nothing was spent):
# estimated: a stream broke after bytes were sent; `usage` and `cost_usd` are laneway's estimate
# (input counted exactly, output seen so far), and budgets were charged it.
# no_usage: an answer came without usage; `cost_usd` is None (unknown).
# abandoned: an attempt was given up after it was sent (timed out, cut before its first event,
# the client left) and the provider may have billed it; its cost is in no figure here, since
# nothing says what it generated (the record's own answer, if any, is costed as usual).
# One reason per record, the largest unknown first: no_usage, then abandoned, then estimated.


@dataclass(frozen=True, slots=True)
class Attempt:
    provider: str
    model: str
    status: int | None  # HTTP status, None when no answer came (refused, reset, timed out)
    latency_ms: float
    error: str | None = None


@dataclass(slots=True)
class LedgerRecord:
    id: str  # laneway's request id
    created_at: float  # unix seconds
    key_id: str | None  # the client key's id, never the key
    endpoint: str  # "responses" | "chat"
    requested_model: str
    stream: bool
    status: RecordStatus = "reserved"
    answering_model: str | None = None
    provider: str | None = None
    upstream_request_id: str | None = None
    attempts: tuple[Attempt, ...] = ()
    http_status: int | None = None
    usage: Usage | None = None  # None: upstream reported none, an error to see, not a zero
    cost_usd: USD | None = None  # None: unknown (no usage, or an unknown price)
    ttfb_ms: float | None = None
    latency_ms: float | None = None
    error: str | None = None
    settled_at: float | None = None
    lane: str | None = None  # the lane that routed it; None for a plain model id
    route: str | None = None  # the routing explanation, JSON (laneway.routing.explain)
    # A shadowed request and its shadow share a pair id (the primary's record id); `shadow`
    # marks the copy the client never saw, so its spend can be told apart.
    pair_id: str | None = None
    shadow: bool = False
    # Observers' notes on the record (a trace id, ...): names to text. Stored as a JSON object,
    # NULL when there are none, so an empty mapping reads back as None.
    annotations: dict[str, str] | None = None
    # Why laneway (or the upstream) refused the request: "budget", "rate_limit", "upstream:
    # insufficient_quota", ... (docs/keys-and-budgets.md lists them); None when not refused.
    refusal: str | None = None
    cost_basis: CostBasis | None = None  # None: exact (or nothing spent)
    output_cap: int | None = None  # the output cap laneway set on the request, if it set one
    response_id: str | None = None  # a Responses answer's id (whose it is: the owner check)
    path: str | None = None  # the HTTP path, for endpoints beyond "responses" and "chat"
    # The replay run that made it (laneway.replay): its spend is shown apart and it is no
    # lane's traffic. None for every request a client sent.
    run_id: str | None = None
    # The request's W3C trace id (32 lower-case hex digits) when `[tracing]` is on: the
    # caller's, from its `traceparent`, or one laneway drew. A column of its own rather than an
    # annotation: it is on every request then, and JSON per row cost more than the request's
    # whole share of tracing.
    trace_id: str | None = None

    @property
    def settled(self) -> bool:
        return self.status != "reserved"


# A record as stored: one flat tuple of column values (money as exact text, attempts as a JSON
# array, annotations as a JSON object). Immutable, so it doubles as the snapshot the writer
# queues while the caller goes on changing its record.
Row = tuple[Any, ...]
COLUMNS = (
    "id", "created_at", "key_id", "endpoint", "requested_model", "stream", "status",
    "answering_model", "provider", "upstream_request_id", "attempts", "http_status",
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens", "cost_usd",
    "ttfb_ms", "latency_ms", "error", "settled_at",
    "lane", "route", "pair_id", "shadow",
    "annotations", "refusal", "cost_basis", "output_cap", "response_id", "path",
    "run_id", "trace_id",
)  # fmt: skip


def to_row(record: LedgerRecord) -> Row:
    """The record's values in `COLUMNS` order; the id comes first."""
    usage = record.usage
    cost = record.cost_usd
    notes = record.annotations
    # A slotted dataclass serialises as an object with its fields in order, as a dict would.
    attempts = orjson.dumps(record.attempts).decode() if record.attempts else "[]"
    if usage is None:
        tokens: tuple[int | None, ...] = (None, None, None, None, None)
    else:
        tokens = (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.cache_write_tokens,
            usage.output_tokens,
            usage.reasoning_tokens,
        )
    return (
        record.id,
        record.created_at,
        record.key_id,
        record.endpoint,
        record.requested_model,
        int(record.stream),
        record.status,
        record.answering_model,
        record.provider,
        record.upstream_request_id,
        attempts,
        record.http_status,
        *tokens,
        None if cost is None else usd_str(cost),
        record.ttfb_ms,
        record.latency_ms,
        record.error,
        record.settled_at,
        record.lane,
        record.route,
        record.pair_id,
        int(record.shadow),
        orjson.dumps(notes).decode() if notes else None,  # most records have none: no JSON work
        record.refusal,
        record.cost_basis,
        record.output_cap,
        record.response_id,
        record.path,
        record.run_id,
        record.trace_id,
    )
