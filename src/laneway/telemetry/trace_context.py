"""W3C Trace Context (https://www.w3.org/TR/trace-context/), the `traceparent` header only:

    traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>

Version 00 is read strictly: lower-case hex, an all-zero trace or parent id is invalid, and so is
anything after the flags. A later version is read for its first four fields, as the
recommendation asks of a parser that knows only 00 (`ff` is never valid). A header that does
not parse is ignored (the request starts a trace of its own), never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TRACEPARENT = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_SAMPLED = 0x01


@dataclass(frozen=True, slots=True)
class Parent:
    """The caller's span, as its `traceparent` names it."""

    trace_id: int
    span_id: int
    sampled: bool


def parse_traceparent(value: bytes | None) -> Parent | None:
    """The parent a `traceparent` header names; None when it is absent or invalid."""
    if not value:
        return None
    found = _TRACEPARENT.fullmatch(value.strip(b" \t"))
    if found is None:
        return None
    version, trace, span, flags, rest = found.groups()
    if version == b"ff" or (version == b"00" and rest is not None):
        return None
    trace_id, span_id = int(trace, 16), int(span, 16)
    if not trace_id or not span_id:
        return None
    return Parent(trace_id, span_id, bool(int(flags, 16) & _SAMPLED))


def trace_id_hex(trace_id: int) -> str:
    """The trace id as the header and the ledger write it: 32 lower-case hex digits (by its
    bytes: half the cost of formatting the int, and this runs for every request)."""
    return trace_id.to_bytes(16, "big").hex()


def traceparent(trace_id: int, span_id: int, sampled: bool) -> str:
    """A version-00 `traceparent` value (for tests and callers that propagate one)."""
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"
