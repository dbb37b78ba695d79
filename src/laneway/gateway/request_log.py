"""The per-request log line: one line at INFO (on this module's logger, in the `laneway` tree)
for each request laneway records (answered, failed or refused), written from the observer seam
as the record is complete:

    req_0a1b... status=ok http=200 lane=coding model=gpt-5.4-mini latency_ms=412 cost_usd=0.000231

Never a secret (a key appears only as its id), never a prompt or an answer. It costs nothing
when INFO is off: `request_log()` gives no observer then, and the gateway calls no hook.
Another line format (laneway.telemetry.json_log: one JSON object) is a `line` function given to
`request_log`, with what its records carry for its formatter (`marks`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from laneway.gateway.observers import Bodies, Exchange, Observer
from laneway.ledger.record import LedgerRecord
from laneway.pricing.money import usd_str

log = logging.getLogger(__name__)
# What a record from log.info() here says of its origin in `laneway serve` (which gathers no
# caller frame).
_FILE, _FUNC = "(unknown file)", "(unknown function)"
_new_record = object.__new__
_started = logging._startTime  # type: ignore[attr-defined]


Line = Callable[[LedgerRecord], str]


class RequestLog(Observer):
    def __init__(self, line: Line | None = None, marks: Mapping[str, object] | None = None) -> None:
        """`line`: the record's line (default: `text`); `marks`: attributes set on each line's
        LogRecord (what a formatter tells request lines by)."""
        self._line = line or text
        # A LogRecord's fields that are the same for every line, made once (Logger.makeRecord
        # computes them all again for each); each line's record is a copy of them with its
        # message and time. Only for the standard record class: a factory set by someone
        # else is used as usual.
        self._fields = (
            log.makeRecord(log.name, logging.INFO, _FILE, 0, "", (), None, _FUNC).__dict__
            if logging.getLogRecordFactory() is logging.LogRecord
            else None
        )
        if self._fields is not None and marks:
            self._fields.update(marks)

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        self.write(exchange.record)

    def refused(self, record: LedgerRecord) -> None:
        self.write(record)

    def write(self, record: LedgerRecord) -> None:
        line = self._line(record)
        fields = self._fields
        if fields is None:
            log.info(line)
            return
        if not log.isEnabledFor(logging.INFO):
            return
        entry = _new_record(logging.LogRecord)
        entry.__dict__ = fields.copy()
        now = time.time()
        entry.msg = line
        entry.created = now
        entry.msecs = int((now - int(now)) * 1000) + 0.0  # as LogRecord.__init__
        entry.relativeCreated = (now - _started) * 1000
        if log.filters or log.disabled:
            log.handle(entry)
        else:  # what Logger.handle does when it has no filter to run, two calls less
            log.callHandlers(entry)


def request_log(
    line: Line | None = None, marks: Mapping[str, object] | None = None
) -> tuple[RequestLog, ...]:
    """The observer to register: one when INFO is on for this logger, else none (so a
    quieter level costs nothing per request). Decided once, at start-up."""
    return (RequestLog(line, marks),) if log.isEnabledFor(logging.INFO) else ()


def text(record: LedgerRecord) -> str:
    latency = record.latency_ms
    cost = record.cost_usd
    # The refusal's origin or the error, never its text beyond laneway's own (no prompt in it).
    why = f" refusal={record.refusal}" if record.refusal is not None else ""
    http = record.http_status
    # Formatted here, once: a message without arguments is not %-formatted again.
    return (
        f"{record.id} status={record.status} http={'-' if http is None else http} "
        f"lane={record.lane or '-'} model={record.answering_model or record.requested_model} "
        f"latency_ms={'-' if latency is None else round(latency)} "
        f"cost_usd={'unknown' if cost is None else usd_str(cost)} key={record.key_id or '-'}{why}"
    )
