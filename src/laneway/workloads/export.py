"""Captured requests as a workload: one Batch input line per capture, ready to replay.

custom_id   the capture's id
url, body   the request as redaction left it, naming the model that answered at the effort
            it was sent (so the as-written baseline replays what was captured)
laneway     {"lane", "record_id", "captured_at", "model", "requested_model", "effort",
             "answer": {"text", "tool_calls"}, "metadata"}: never sent
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from laneway.ledger.captures import CaptureRow
from laneway.wire.batch_lines import ENDPOINTS, LANEWAY
from laneway.wire.request import Endpoint
from laneway.wire.retarget import retargeted

_URLS: dict[Endpoint, str] = {endpoint: url for url, endpoint in ENDPOINTS.items()}


def export_line(row: CaptureRow) -> bytes:
    endpoint: Any = row.endpoint
    model = row.answering_model or row.requested_model
    body = retargeted(endpoint, orjson.loads(row.request), model, row.effort)
    facts = {
        "lane": row.lane,
        "record_id": row.record_id,
        "captured_at": datetime.fromtimestamp(row.created_at, UTC).isoformat(),
        "model": model,
        "requested_model": row.requested_model,
        "effort": row.effort,
        "answer": orjson.loads(row.answer),
        "metadata": None if row.metadata is None else orjson.loads(row.metadata),
    }
    line = {"custom_id": row.id, "method": "POST", "url": _URLS[endpoint], "body": body}
    return orjson.dumps({**line, LANEWAY: facts}) + b"\n"


def export_lines(rows: Iterable[CaptureRow]) -> Iterator[bytes]:
    return (export_line(row) for row in rows)


def write_export(rows: Iterable[CaptureRow], out: IO[bytes]) -> int:
    """Every row written to `out` as a line; how many."""
    count = 0
    for line in export_lines(rows):
        out.write(line)
        count += 1
    return count
