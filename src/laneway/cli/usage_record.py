"""`laneway usage --id req_...`: one ledger record in full, as JSON or as lines to read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from laneway.cli.output import print_json, stdout_console
from laneway.ledger.record import LedgerRecord
from laneway.pricing.money import usd_str
from laneway.routing.explain import expand


def record_view(record: LedgerRecord, key_name: str | None) -> dict[str, Any]:
    """Every field of the record (the route expanded, money as exact text), and the key's name."""
    view: dict[str, Any] = orjson.loads(
        orjson.dumps(record, default=lambda v: usd_str(v) if isinstance(v, Decimal) else str(v))
    )
    view["key_name"] = key_name
    view["created_at"] = _iso(record.created_at)
    view["settled_at"] = _iso(record.settled_at)
    if record.route is not None:
        view["route"] = expand(record.route)
    return view


def print_record(record: LedgerRecord, key_name: str | None, *, as_json: bool) -> None:
    view = record_view(record, key_name)
    if as_json:
        print_json(view)
        return
    console = stdout_console()
    width = max(len(f.name) for f in dataclasses.fields(record)) + 1
    for name, value in view.items():
        if value is None or value in ((), []):
            continue
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        console.print(f"{name:<{width}} {shown}", markup=False, soft_wrap=True)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
