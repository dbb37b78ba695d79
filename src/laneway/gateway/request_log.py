"""The per-request log line: one line at INFO (on this module's logger, in the `laneway` tree)
for each request laneway records (answered, failed or refused), written from the observer seam
as the record is complete:

    req_0a1b... status=ok http=200 lane=coding model=gpt-5.4-mini latency_ms=412 cost_usd=0.000231

Never a secret (a key appears only as its id), never a prompt or an answer. It costs nothing
when INFO is off: `request_log()` gives no observer then, and the gateway calls no hook.
Another line format (laneway.telemetry.json_log: one JSON object) is a `line` function given to
`request_log`, with what its records carry for its formatter (`marks`).

Under `laneway serve` (its one root handler a LineBuffer, nothing else on the way) the lines
skip `logging` and go straight into that handler, the same text `logging` would have given it
(`direct_writer`): a LogRecord and the handler walk cost more than the line itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

from laneway.gateway.observers import Bodies, Exchange, Observer, RecordOnly
from laneway.ledger.record import LedgerRecord
from laneway.pricing.money import usd_str

log = logging.getLogger(__name__)
# What a record from log.info() here says of its origin in `laneway serve` (which gathers no
# caller frame).
_FILE, _FUNC = "(unknown file)", "(unknown function)"
_new_record = object.__new__
_started = logging._startTime  # type: ignore[attr-defined]


Line = Callable[[LedgerRecord], str]


@runtime_checkable
class LineSink(Protocol):
    """A handler that takes a logger's INFO messages without a LogRecord each (laneway
    serve's LineBuffer): the writer, or None when it cannot write them as it would the
    records."""

    def line_writer(
        self, logger: str, marks: Mapping[str, object]
    ) -> Callable[[str], None] | None: ...


class RequestLog(Observer):
    def __init__(
        self,
        line: Line | None = None,
        marks: Mapping[str, object] | None = None,
        direct: Callable[[str], None] | None = None,
    ) -> None:
        """`line`: the record's line (default: `text`); `marks`: attributes set on each line's
        LogRecord (what a formatter tells request lines by); `direct`: where each line goes
        instead of through `logging`, when `direct_writer` found a handler that takes them
        so."""
        self._line = line or text
        self._direct = direct
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

    def refused(self, record: LedgerRecord) -> None:
        self.settled(RecordOnly(record), None)

    write = refused  # a record's line, settled or refused

    def settled(self, exchange: Exchange | RecordOnly, bodies: Bodies | None) -> None:
        line = self._line(exchange.record)
        direct = self._direct
        if direct is not None:
            direct(line)
            return
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
    quieter level costs nothing per request). Decided once, at start-up, as is whether its
    lines may skip `logging` (`direct_writer`)."""
    if not log.isEnabledFor(logging.INFO):
        return ()
    return (RequestLog(line, marks, direct_writer(log, marks or {})),)


def direct_writer(
    logger: logging.Logger, marks: Mapping[str, object]
) -> Callable[[str], None] | None:
    """A writer of `logger`'s INFO lines into its one handler, when `logging` would do no
    more than format them and hand them to it: no filter and no handler on the way to the
    root, and the root's one handler a LineSink (`laneway serve`'s) that knows the format.
    A record through `logging` costs about 20,000 instructions more than the line itself:
    ~3% of a request. Anything else (a test's capture handler, a library user's set-up)
    keeps `logging`'s path."""
    node: logging.Logger | None = logger
    while node is not None and node is not logging.root:
        if node.filters or node.handlers or node.disabled or not node.propagate:
            return None
        node = node.parent
    root = logging.root
    if root.filters or len(root.handlers) != 1:
        return None
    (handler,) = root.handlers
    if handler.filters or handler.level > logging.INFO or not isinstance(handler, LineSink):
        return None
    return handler.line_writer(logger.name, marks)


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
