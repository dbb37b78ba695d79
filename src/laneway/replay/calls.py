"""One replay call: a workload line sent as a cell asks, through the gateway in-process, read to
its end (a stream drained), graded, and made a results row. An error is a row too (its kind from
a small table), never an exception that stops the run; only a cancellation passes through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import orjson

from laneway.clock import Clock
from laneway.gateway.answer import Answer, AnswerMeta
from laneway.gateway.client import Client
from laneway.gateway.core import Gateway
from laneway.ledger.record import LedgerRecord
from laneway.replay.call_cache import CallCache, call_key
from laneway.replay.experiment import AS_WRITTEN, Cell
from laneway.replay.graders import Grade, grade
from laneway.replay.python_grader import PythonGrader
from laneway.replay.rows import ResultRow, RowStatus, RowUsage
from laneway.wire.answers import AnswerView, answer_of
from laneway.wire.batch_lines import BatchLine
from laneway.wire.errors import ApiError
from laneway.wire.replay_headers import REPEAT_HEADER
from laneway.wire.retarget import retargeted
from laneway.wire.stream_answer import stream_answer

# A refusal's origin (laneway.gateway.refusals) -> the row's error kind.
_REFUSAL_KINDS: Mapping[str, str] = {
    "budget": "budget",
    "upstream:insufficient_quota": "budget",
    "rate_limit": "rate_limit",
    "upstream:rate_limit_exceeded": "rate_limit",
    "pacing": "rate_limit",
    "revoked": "key",
    "expired": "key",
    "limits_unavailable": "unavailable",
    "limits_resyncing": "unavailable",
    "unavailable": "unavailable",
}
# Else the HTTP status -> the kind; any other 4xx is "bad_request", any other 5xx
# "server_error".
_STATUS_KINDS: Mapping[int, str] = {
    401: "access",
    402: "budget",
    403: "access",
    404: "not_found",
    408: "timeout",
    429: "rate_limit",
    499: "cancelled",
    504: "timeout",
}


@dataclass(frozen=True, slots=True)
class Call:
    line: BatchLine
    cell: Cell
    repeat: int
    index: int  # the call's place in the run (laneway.replay.order)
    worst_usd: Decimal | None


class Caller:
    """Makes calls through `gateway` as the run's clients (one per cell: the cell's tag)."""

    def __init__(
        self,
        gateway: Gateway,
        clients: Mapping[str, Client],
        graders: Sequence[PythonGrader],
        clock: Clock,
        cache: CallCache | None = None,
        upstream: str = "",
    ) -> None:
        """`cache`: where identical calls are served from and answers kept (None: none);
        `upstream`: what answers, as the cache keys it."""
        self._gateway = gateway
        self._clients = clients
        self._graders = tuple(graders)
        self._clock = clock
        self._cache = cache
        self._upstream = upstream

    async def call(self, call: Call) -> ResultRow:
        line, cell = call.line, call.cell
        body = line.body
        if cell.model != AS_WRITTEN:
            body = retargeted(line.endpoint, body, cell.model, cell.effort)
        payload = orjson.dumps(body)
        key = None
        if self._cache is not None:
            key = call_key(self._upstream, line.endpoint, payload, call.repeat)
            earlier = self._cache.get(key)
            if earlier is not None:
                return self._reused(call, earlier)
        headers = {REPEAT_HEADER: str(call.repeat).encode()}
        clock = self._clock
        started_at, began = clock.time(), clock.monotonic()
        first: float | None = None
        try:
            answer = await self._gateway.handle(
                line.endpoint, payload, client=self._clients[cell.label], headers=headers
            )
            raw, first = await self._drained(answer)
        except ApiError as error:
            return _error_row(call, started_at, (clock.monotonic() - began) * 1000, error)
        latency = (clock.monotonic() - began) * 1000
        output = _output(line, answer, raw)
        row = _answered_row(
            call,
            answer.meta,
            started_at,
            None if first is None else (first - began) * 1000,
            latency,
            output,
            self._grades(line, output),
        )
        if key is not None and self._cache is not None:
            self._cache.put(key, row)
        return row

    def _reused(self, call: Call, earlier: ResultRow) -> ResultRow:
        """An earlier run's answer to this identical call, as this call's row, graded by this
        run's graders; its record id still names the earlier call's ledger record."""
        return replace(
            earlier,
            cell=call.cell.label,
            custom_id=call.line.custom_id,
            repeat=call.repeat,
            started_at=self._clock.time(),
            grades=self._grades(call.line, earlier.output),
            reused=True,
        )

    async def _drained(self, answer: Answer) -> tuple[bytes, float | None]:
        """The answer's bytes and when its first arrived (a stream: its first event)."""
        if answer.stream is None:
            return answer.body, self._clock.monotonic()
        chunks: list[bytes] = []
        first = None
        async for chunk in answer.stream:
            if first is None:
                first = self._clock.monotonic()
            chunks.append(chunk)
        return b"".join(chunks), first

    def _grades(self, line: BatchLine, output: AnswerView | None) -> tuple[Grade, ...]:
        if output is None:
            return ()
        found: list[Grade] = []
        expect = line.expect
        if isinstance(expect, dict):
            found += grade(output, expect)
        elif expect is not None:
            found.append(
                Grade("expect", None, "", "could not grade", "expect must be a JSON object")
            )
        found += [grader.grade(line.body, output, expect) for grader in self._graders]
        return tuple(found)


def _output(line: BatchLine, answer: Answer, raw: bytes) -> AnswerView | None:
    if answer.stream is not None:
        return stream_answer(line.endpoint, raw)
    try:
        document: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return answer_of(line.endpoint, document) if isinstance(document, dict) else None


def _answered_row(
    call: Call,
    meta: AnswerMeta,
    started_at: float,
    ttfb_ms: float | None,
    latency_ms: float,
    output: AnswerView | None,
    grades: tuple[Grade, ...],
) -> ResultRow:
    record = meta.record
    status: RowStatus = "broken" if record.status == "broken" else "ok"
    kind = None
    if record.status == "broken":
        kind = "broken_stream"
    elif record.status == "error":  # upstream ended its stream with an error event
        status, kind = "error", "stream_error"
    return ResultRow(
        **_keyed(call, started_at, status),
        **_from_record(record),
        ttfb_ms=ttfb_ms,
        latency_ms=latency_ms,
        output=output,
        grades=grades,
        error_kind=kind,
        error=record.error if kind is not None else None,
    )


def _error_row(call: Call, started_at: float, latency_ms: float, error: ApiError) -> ResultRow:
    meta = error.meta
    record = meta.record if isinstance(meta, AnswerMeta) else None
    refusal = None if record is None else record.refusal
    refused = refusal is not None or (record is not None and record.status == "refused")
    kind = _REFUSAL_KINDS.get(refusal or "") or _STATUS_KINDS.get(error.status)
    if kind is None:
        kind = "server_error" if error.status >= 500 else "bad_request"
    fields = _from_record(record) if record is not None else {}
    if record is None and isinstance(meta, LedgerRecord):
        fields["record_id"] = meta.id  # refused before routing: the record's id alone
    fields["http_status"] = error.status
    return ResultRow(
        **_keyed(call, started_at, "refused" if refused else "error"),
        **fields,
        latency_ms=latency_ms,
        error_kind=kind,
        error=error.message,
    )


def _keyed(call: Call, started_at: float, status: RowStatus) -> dict[str, Any]:
    return {
        "cell": call.cell.label,
        "custom_id": call.line.custom_id,
        "repeat": call.repeat,
        "status": status,
        "started_at": started_at,
    }


def _from_record(record: LedgerRecord) -> dict[str, Any]:
    usage = record.usage
    return {
        "record_id": record.id,
        "model": record.answering_model,
        "http_status": record.http_status,
        "attempts": len(record.attempts),
        "usage": None
        if usage is None
        else RowUsage(
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens,
            usage.reasoning_tokens,
        ),
        "cost_usd": record.cost_usd,
        "cost_basis": record.cost_basis,
    }
