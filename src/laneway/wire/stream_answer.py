"""What a drained event stream answered, for a caller that reads a stream whole (replay):
Responses' final `response` object (its `response.completed` or `response.incomplete` event
carries all of it), or Chat's first choice gathered from its deltas (text, refusal and tool
calls, whose arguments arrive in pieces by index)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from laneway.wire.answers import AnswerView, ToolCall, answer_of
from laneway.wire.request import Endpoint

_EVENTS = re.compile(rb"\r?\n\r?\n")
_ENDS = frozenset(("response.completed", "response.incomplete", "response.failed"))
_END_BYTES = tuple(end.encode() for end in _ENDS)


def stream_answer(endpoint: Endpoint, stream: bytes) -> AnswerView | None:
    """The answer in a whole stream's bytes; None when it carried none (it ended early)."""
    events = _EVENTS.split(stream)
    if endpoint == "chat":
        payloads = _payloads(events)
        return _chat(payloads) if payloads else None
    # Only the last events can end it: read from the end, parsing only an ending's.
    for event in reversed(events):
        if not any(end in event for end in _END_BYTES):
            continue
        for payload in _payloads([event]):
            if payload.get("type") in _ENDS and isinstance(payload.get("response"), dict):
                return answer_of("responses", payload["response"])
    return None


def _payloads(events: list[bytes]) -> list[dict[str, Any]]:
    found = []
    for event in events:
        for line in event.splitlines():
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if not data or data == b"[DONE]":
                continue
            try:
                value = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                found.append(value)
    return found


def _chat(payloads: list[dict[str, Any]]) -> AnswerView:
    text: list[str] = []
    calls: dict[int, list[str]] = {}  # index -> [name, arguments so far]
    for payload in payloads:
        for choice in payload.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                _delta(delta, text, calls)
    tool_calls = tuple(ToolCall(name, arguments) for name, arguments in calls.values())
    return AnswerView("".join(text), tool_calls)


def _delta(delta: dict[str, Any], text: list[str], calls: dict[int, list[str]]) -> None:
    piece = delta.get("content") or delta.get("refusal")
    if isinstance(piece, str):
        text.append(piece)
    for call in delta.get("tool_calls") or ():
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            continue
        function = call["function"]
        held = calls.setdefault(int(call.get("index", 0)), ["", ""])
        held[0] += str(function.get("name") or "")
        held[1] += str(function.get("arguments") or "")
