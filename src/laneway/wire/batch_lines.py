"""OpenAI's Batch input lines (`custom_id`, `method`, `url`, `body`), read one at a time.

A replay workload is a Batch input file as it is, so an existing batch file replays unchanged.
laneway's grading data rides beside each line under one extra key, `expect`, and a captured
line's facts (its lane, ledger record, answering model and answer) under `laneway`; neither is
part of the body, so neither is ever sent. A line is checked for what a call needs (a JSON
object, a unique custom_id, POST, an endpoint laneway replays, an object body naming its model);
its problems are returned, never raised, so a reader can report every bad line at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from laneway.wire.request import Endpoint

EXPECT = "expect"  # laneway's key: grading data, never sent
LANEWAY = "laneway"  # a captured line's facts (laneway.workloads.export), never sent
# The endpoints a workload may call, by their Batch `url`.
ENDPOINTS: dict[str, Endpoint] = {
    "/v1/responses": "responses",
    "/v1/chat/completions": "chat",
}
_KEYS = frozenset(("custom_id", "method", "url", "body", EXPECT, LANEWAY))


@dataclass(frozen=True, slots=True)
class BatchLine:
    number: int  # 1-based, as an editor shows it
    custom_id: str
    endpoint: Endpoint
    body: dict[str, Any]  # as it will be sent (no `expect`)
    expect: Any = None  # None: no expectation on this line
    laneway: Any = None  # a captured line's facts; None on other lines


@dataclass(frozen=True, slots=True)
class LineProblem:
    number: int
    custom_id: str | None  # None when the line has none to name
    message: str

    def __str__(self) -> str:
        named = f" ({self.custom_id})" if self.custom_id is not None else ""
        return f"line {self.number}{named}: {self.message}"


def read_line(number: int, raw: bytes) -> BatchLine | LineProblem:
    """One line of a Batch input file: the call it asks for, or what is wrong with it."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return LineProblem(number, None, f"not valid JSON ({exc.msg})")
    if not isinstance(value, dict):
        return LineProblem(number, None, "not a JSON object")
    custom_id = value.get("custom_id")
    named = custom_id if isinstance(custom_id, str) and custom_id else None
    message = _envelope_problem(value, custom_id) or _body_problem(value.get("body"))
    if message is None and named is not None:  # (a line without custom_id has a message)
        return BatchLine(
            number,
            named,
            ENDPOINTS[value["url"]],
            value["body"],
            value.get(EXPECT),
            value.get(LANEWAY),
        )
    return LineProblem(number, named, message or "custom_id must be a non-empty string")


def _envelope_problem(value: dict[str, Any], custom_id: object) -> str | None:
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        keys = ", ".join(map(repr, unknown))
        return (
            f"unknown key(s) {keys}: a line has custom_id, method, url, body, "
            f"{EXPECT!r} and {LANEWAY!r}"
        )
    if not isinstance(custom_id, str) or not custom_id:
        return "custom_id must be a non-empty string"
    if value.get("method") != "POST":
        return f'method must be "POST", got {value.get("method")!r}'
    url = value.get("url")
    if url not in ENDPOINTS:
        return f"url must be one of {', '.join(ENDPOINTS)}, got {url!r}"
    return None


def _body_problem(body: object) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "body.model must be a non-empty string"
    return None
