"""What a model answered, read from a Responses or Chat Completions body: its text and its tool
calls, for graders. The first choice of a Chat answer; every message and function call item of a
Responses answer, in order (a refusal's text counts as text: a grader should see it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from laneway.wire.request import Endpoint


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # as the model wrote them: JSON text, maybe invalid


@dataclass(frozen=True, slots=True)
class AnswerView:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()


def answer_of(endpoint: Endpoint, body: dict[str, Any]) -> AnswerView:
    if endpoint == "chat":
        return _chat(body)
    return _responses(body)


def _chat(body: dict[str, Any]) -> AnswerView:
    choices = body.get("choices") or [{}]
    message = choices[0].get("message") or {}
    text = message.get("content") or message.get("refusal") or ""
    calls = tuple(
        ToolCall(str(call["function"].get("name", "")), str(call["function"].get("arguments", "")))
        for call in message.get("tool_calls") or ()
        if isinstance(call, dict) and isinstance(call.get("function"), dict)
    )
    return AnswerView(str(text), calls)


def _responses(body: dict[str, Any]) -> AnswerView:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for item in body.get("output") or ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and part.get("type") in ("output_text", "refusal"):
                    texts.append(str(part.get("text") or part.get("refusal") or ""))
        elif item.get("type") == "function_call":
            calls.append(ToolCall(str(item.get("name", "")), str(item.get("arguments", ""))))
    return AnswerView("".join(texts), tuple(calls))
