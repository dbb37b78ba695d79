"""The per-request log line: one line at INFO (on this module's logger, in the `laneway` tree)
for each request laneway records (answered, failed or refused), written from the observer seam
as the record is complete:

    req_0a1b... status=ok http=200 lane=coding model=gpt-5.4-mini latency_ms=412 cost_usd=0.000231

Never a secret (a key appears only as its id), never a prompt or an answer. It costs nothing
when INFO is off: `request_log()` gives no observer then, and the gateway calls no hook.
"""

from __future__ import annotations

import logging

from laneway.gateway.observers import Bodies, Exchange, Observer
from laneway.ledger.record import LedgerRecord
from laneway.pricing.money import usd_str

log = logging.getLogger(__name__)


class RequestLog(Observer):
    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        write(exchange.record)

    def refused(self, record: LedgerRecord) -> None:
        write(record)


def request_log() -> tuple[RequestLog, ...]:
    """The observer to register: one when INFO is on for this logger, else none (so a
    quieter level costs nothing per request). Decided once, at start-up."""
    return (RequestLog(),) if log.isEnabledFor(logging.INFO) else ()


def write(record: LedgerRecord) -> None:
    latency = record.latency_ms
    cost = record.cost_usd
    # The refusal's origin or the error, never its text beyond laneway's own (no prompt in it).
    why = f" refusal={record.refusal}" if record.refusal is not None else ""
    http = record.http_status
    # Formatted here, once: a message without arguments is not %-formatted again.
    log.info(
        f"{record.id} status={record.status} http={'-' if http is None else http} "
        f"lane={record.lane or '-'} model={record.answering_model or record.requested_model} "
        f"latency_ms={'-' if latency is None else f'{latency:.0f}'} "
        f"cost_usd={'unknown' if cost is None else usd_str(cost)} key={record.key_id or '-'}{why}"
    )
