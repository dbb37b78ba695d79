"""Filling in a request's ledger record once its outcome is known: usage, cost, timings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from laneway.clock import Clock
from laneway.errors import UsageError
from laneway.gateway.attempts import Committed
from laneway.ledger.record import LedgerRecord, RecordStatus
from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import cost_of
from laneway.usage import Usage
from laneway.wire.usage import usage_from_body


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
    def __init__(self, catalog: Catalog, clock: Clock) -> None:
        self._catalog = catalog
        self._clock = clock

    def answered(
        self,
        record: LedgerRecord,
        committed: Committed,
        usage: Usage | None,
        problem: str | None,
        *,
        status: RecordStatus,
        started: float,
    ) -> None:
        candidate = committed.candidate
        record.status = status
        record.answering_model = candidate.model
        record.provider = candidate.provider.name
        record.upstream_request_id = committed.response.headers.get("x-request-id")
        record.http_status = committed.response.status
        record.usage = usage
        problems = [problem] if problem else []
        if usage is None:
            problems.append("upstream reported no usage")
            record.cost_usd = None
        else:
            record.cost_usd, unknown = price(self._catalog, candidate.model, usage)
            if unknown:
                problems.append(unknown)
        record.error = "; ".join(dict.fromkeys(problems)) or None
        self._finish(record, started)

    def failed(self, record: LedgerRecord, http_status: int, error: str, started: float) -> None:
        record.status = "error"
        record.http_status = http_status
        record.error = error
        last = record.attempts[-1] if record.attempts else None
        if last is not None:
            record.provider = last.provider
        self._finish(record, started)

    def _finish(self, record: LedgerRecord, started: float) -> None:
        record.latency_ms = (self._clock.monotonic() - started) * 1000
        record.settled_at = self._clock.time()
