"""`laneway serve --log-format json`: every line on stderr one JSON object.

A request's line (one per request laneway records, from the request log observer):

    {"ts":1765000000.123,"level":"info","logger":"laneway.request","record_id":"req_...",
     "trace_id":"4bf9...","status":"ok","http":200,"lane":"coding","model":"lane:coding",
     "answering_model":"gpt-5.4-mini","attempts":1,"latency_ms":412.31,"ttfb_ms":398.07,
     "cost_usd":"0.000231","key_id":"key_...","refusal":null}

(The fields the text line has, and the trace id; the ledger holds the rest of the record.)

Any other log record: {"ts", "level", "logger", "msg"} (and "exc" with its traceback). `ts` is
unix seconds. Never a secret (a key appears only as its id) and never a prompt, an answer or an
upstream's error text: prompts go only where capture puts them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from laneway.ledger.record import LedgerRecord
from laneway.pricing.money import usd_str

REQUEST_LOGGER = "laneway.request"  # the `logger` of request lines
# Set on request lines' LogRecords (RequestLog's `marks`): their message is already the object.
MARK = "laneway_json"
MARKS = {MARK: True}


def json_line(record: LedgerRecord) -> str:
    """A request's line: its record's facts as one JSON object."""
    cost = record.cost_usd
    return orjson.dumps(
        {
            "ts": record.settled_at,
            "level": "info",
            "logger": REQUEST_LOGGER,
            "record_id": record.id,
            "trace_id": record.trace_id,
            "status": record.status,
            "http": record.http_status,
            "lane": record.lane,
            "model": record.requested_model,
            "answering_model": record.answering_model,
            "attempts": len(record.attempts),
            "latency_ms": record.latency_ms,  # as measured: round() cost a third of the line
            "ttfb_ms": record.ttfb_ms,
            "cost_usd": None if cost is None else usd_str(cost),  # exact; null: unknown
            "key_id": record.key_id,
            "refusal": record.refusal,
        }
    ).decode()


class JsonFormatter(logging.Formatter):
    """Each log record as one JSON object; a request line is its message as it is."""

    def format(self, record: logging.LogRecord) -> str:
        if record.__dict__.get(MARK):
            return str(record.msg)
        entry: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry).decode()


def json_announce(line: str) -> str:
    """One of `laneway serve`'s own lines (where it listens, what it answers from), as the
    other lines are."""
    return _serve_line("warning" if line.startswith("warning:") else "info", line)


def json_error(message: str) -> str:
    """Why `laneway serve` stopped at start (a bad config, a port in use), as the other lines
    are: the text a person would have read after `laneway: error:`."""
    return _serve_line("error", message)


def _serve_line(level: str, msg: str) -> str:
    return orjson.dumps(
        {"ts": time.time(), "level": level, "logger": "laneway.serve", "msg": msg}
    ).decode()
