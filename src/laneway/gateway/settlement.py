"""A request's ledger record, from its reservation to its settlement: the one place that fills
one in.

    open       the record made from the routed request; observers told the request started;
               its reservation queued for the ledger (waited for only when durable, or when
               the writer falls behind and memory must stay bounded)
    committed  an answer was chosen: who answered, the attempts, time to first byte, the route
    answered   the outcome: usage, exact cost, status; then `_settle`
    failed     no answer: the error (and, for a 429 from upstream or the pacer, its origin as
               `refusal`); then `_settle`
    refused    laneway refused it before opening a record (bad input, no such model, access,
               budget, rate limit): one record, written once, already settled (status
               "refused"); observers' `refused` hook sees it

`_settle` is the same for every outcome: observers see the complete record (and may annotate
it), the ledger gets it, then the budget reservation is replaced by the real cost.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

import orjson

from laneway.clock import Clock
from laneway.errors import UsageError
from laneway.gateway.admission import Admission, Hold
from laneway.gateway.answer import AnswerMeta
from laneway.gateway.attempts import Committed
from laneway.gateway.client import Client
from laneway.gateway.observers import Exchange, Observers
from laneway.gateway.refusals import UNREAD_MODEL, refusal_of
from laneway.ids import new_id
from laneway.ledger.record import LedgerRecord, RecordStatus
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import cost_of
from laneway.routing.router import Plan
from laneway.usage import Usage
from laneway.wire.errors import ApiError
from laneway.wire.request import ApiRequest, Endpoint
from laneway.wire.usage import usage_from_body

MAX_LEDGER_BACKLOG = 2000  # queued writes past which a request waits for its reservation


def price(catalog: Catalog, model: str, usage: Usage) -> tuple[Decimal | None, str | None]:
    """The cost of `usage` on `model`, or None with the reason (unknown model or price)."""
    spec = catalog.find(model)
    if spec is None:
        return None, f"model {model!r} is not in the catalog: cost unknown"
    cost = cost_of(spec, usage)
    return cost.total, ("; ".join(cost.unknown) or None) if cost.total is None else None


def read_whole(body: bytes) -> tuple[dict[str, Any] | None, Usage | None, str | None]:
    """The parsed body, its usage, and what went wrong reading it (None when nothing did)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None, "upstream body is not JSON"
    if not isinstance(document, dict):
        return None, None, "upstream body is not a JSON object"
    if document.get("usage") is None:
        return document, None, None  # the settler records that none came
    try:
        return document, usage_from_body(document), None
    except UsageError as error:
        return document, None, f"no usable usage from upstream: {error}"


class Settler:
    def __init__(
        self,
        catalog: Catalog,
        clock: Clock,
        ledger: LedgerWriter,
        admission: Admission,
        observers: Observers,
        *,
        learn: Callable[[Exchange], None] | None = None,
        durable: bool = False,
    ) -> None:
        """`learn`: told of every settled record, after observers (what routing learns)."""
        self._catalog = catalog
        self._clock = clock
        self._ledger = ledger
        self._admission = admission
        self._observers = observers
        self._learn = learn
        self._durable = durable

    def open(
        self,
        request: ApiRequest,
        client: Client,
        plan: Plan,
        record_id: str,
        started: float,
        hold: Hold | None = None,
        *,
        pair_of: LedgerRecord | None = None,
    ) -> tuple[Exchange, Future[None] | None]:
        """The request's exchange and record (`pair_of`: the primary a shadow copies), its
        reservation queued: with a future to await before any upstream call, or None when
        nobody needs to wait (it rides along with others' commits)."""
        lane = plan.lane
        record = LedgerRecord(
            id=record_id,
            created_at=self._clock.time(),
            key_id=client.key_id,
            endpoint=request.endpoint,
            requested_model=request.model if pair_of is None else pair_of.requested_model,
            stream=request.stream,
            lane=lane.name if lane is not None else None,
            run_id=client.run,
        )
        if pair_of is not None:
            pair_of.pair_id = record.pair_id = pair_of.id
            record.shadow = True
        exchange = Exchange(
            request,
            client,
            plan,
            record,
            started,
            AnswerMeta(record, plan.route),
            hold,
            gather=self._observers.want_bodies,
        )
        if self._observers.watch_starts:
            self._observers.request_started(exchange)
        ledger = self._ledger
        if self._durable or ledger.backlog > MAX_LEDGER_BACKLOG:
            return exchange, ledger.reserve(record, lazy=not self._durable)
        ledger.reserve(record, wait=False)
        return exchange, None

    def committed(self, exchange: Exchange, committed: Committed) -> None:
        record = exchange.record
        candidate = committed.candidate
        record.answering_model = candidate.model
        record.provider = candidate.provider.name
        response = committed.response
        record.upstream_request_id = response.headers.get("x-request-id")
        record.http_status = response.status
        record.attempts = tuple(exchange.attempts)
        record.ttfb_ms = (self._clock.monotonic() - exchange.started) * 1000
        route = exchange.plan.route
        route.chosen = candidate.label
        record.route = route.to_json()

    def answered(
        self,
        exchange: Exchange,
        committed: Committed,
        usage: Usage | None,
        problem: str | None,
        *,
        status: RecordStatus,
        estimated: bool = False,
    ) -> None:
        """`estimated`: `usage` is laneway's estimate for a stream that broke, not upstream's."""
        record = exchange.record
        record.status = status
        record.usage = usage
        record.response_id = exchange.response_id
        problems = [problem] if problem else []
        if usage is None:
            problems.append("upstream reported no usage")
            record.cost_usd = None
            record.cost_basis = "no_usage"  # nothing known outweighs an abandoned attempt
        else:
            if estimated:
                problems.append("cost estimated: input counted, output seen so far")
                if record.cost_basis is None:  # an abandoned attempt outweighs it
                    record.cost_basis = "estimated"
            record.cost_usd, unknown = price(self._catalog, committed.candidate.model, usage)
            if unknown:
                problems.append(unknown)
        record.error = "; ".join(dict.fromkeys(problems)) or None
        self._settle(exchange)

    def failed(
        self, exchange: Exchange, http_status: int, error: str, refusal: str | None = None
    ) -> None:
        record = exchange.record
        record.refusal = refusal
        record.attempts = tuple(exchange.attempts)
        record.route = exchange.plan.route.to_json()
        record.status = "error"
        record.http_status = http_status
        record.error = error
        last = record.attempts[-1] if record.attempts else None
        if last is not None:
            record.provider = last.provider
        self._settle(exchange)

    def refused(
        self,
        endpoint: Endpoint,
        request: ApiRequest | None,
        plan: Plan | None,
        client: Client,
        error: ApiError,
        started: float,
        traceparent: bytes | None = None,
    ) -> LedgerRecord:
        """Record a request refused before its record was opened (`request` None: its body
        could not be read; `plan` None: it was refused before routing chose). One write,
        settled: nothing was reserved, and no budget hold is open. The error's `meta` names
        the record. `traceparent`: the caller's header, for observers that want it."""
        clock = self._clock
        now = clock.time()
        lane = plan.lane if plan is not None else None
        record = LedgerRecord(
            id=new_id("req"),
            created_at=now,
            key_id=client.key_id,
            endpoint=endpoint,
            requested_model=request.model if request is not None else UNREAD_MODEL,
            stream=request.stream if request is not None else False,
            status="refused",
            http_status=error.status,
            error=error.message,
            latency_ms=(clock.monotonic() - started) * 1000,
            settled_at=now,
            lane=lane.name if lane is not None else None,
            route=plan.route.to_json() if plan is not None else None,
            refusal=refusal_of(error),
            run_id=client.run,
        )
        if self._observers.watch_refused:
            self._observers.refused(record, traceparent)
        self._ledger.settle(record, wait=False)
        error.meta = AnswerMeta(record, plan.route) if plan is not None else record
        return record

    def learn(self, exchange: Exchange) -> None:
        """Tell routing of an answer before it settles (a background response's home)."""
        if self._learn is not None:
            self._learn(exchange)

    def _settle(self, exchange: Exchange) -> None:
        """Observers, then the record (the truth), then the budget reservation it replaces."""
        record = exchange.record
        record.latency_ms = (self._clock.monotonic() - exchange.started) * 1000
        record.settled_at = self._clock.time()
        if self._observers.watch_settled:
            self._observers.settled(exchange)
        if self._learn is not None:
            self._learn(exchange)
        self._ledger.settle(record, wait=False)
        hold = exchange.hold
        if hold is not None:
            self._admission.settle(hold, record)
