"""How deeply a request body may nest: `MAX_DEPTH` levels of objects and arrays, past which it
is refused with a 400 (gateway and emulator alike).

orjson reads 1,024 levels but writes only ~254, and the gateway writes a body again when it
must change it (another model, a Chat stream's usage option, a routing count): a body it can
read but not write would fail half-way through a request. 128 leaves room under both, far above
anything an API request needs (OpenAI's structured outputs allow 10 levels of schema).

The check costs ordinary bodies two byte counts: a body cannot nest deeper than its number of
`{` and `[`, so only a body with more of them than `MAX_DEPTH` is walked.
"""

from __future__ import annotations

from typing import Any

from laneway.wire.errors import ApiError

MAX_DEPTH = 128


def check_depth(raw: bytes, value: Any) -> None:
    """Raise a 400 when `value` (parsed from `raw`) nests past MAX_DEPTH."""
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise too_deep()


def too_deep() -> ApiError:
    return ApiError(
        400,
        f"Invalid request body: JSON nested more than {MAX_DEPTH} levels deep. Flatten the "
        "request's objects and arrays.",
        code="json_too_deep",
    )


def _deeper_than(value: Any, room: int) -> bool:
    """True when `value` has more than `room` levels of objects and arrays."""
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False
    if room == 0:
        return True
    for child in children:
        if (isinstance(child, dict | list)) and _deeper_than(child, room - 1):
            return True
    return False
