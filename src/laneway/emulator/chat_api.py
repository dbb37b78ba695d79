"""Chat Completions objects and stream chunks, shaped as OpenAI sends them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from laneway.emulator.chat_request import ChatRequest
from laneway.emulator.generation import FunctionCall, Generation
from laneway.usage import Usage
from laneway.wire.usage import chat_usage_json

_DELTA_WORDS = 4
_WORD = re.compile(r"\s*\S+")


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class ChatDraft:
    request: ChatRequest
    completion_id: str
    created: int
    model_name: str
    generations: tuple[Generation, ...]
    usage: Usage


def _finish_reason(gen: Generation) -> str:
    if gen.call is not None:
        return "tool_calls"
    return "length" if gen.incomplete else "stop"


def _tool_calls(call: FunctionCall) -> list[dict[str, Any]]:
    return [
        {
            "id": call.call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
    ]


def completion_object(draft: ChatDraft) -> dict[str, Any]:
    choices = []
    for index, gen in enumerate(draft.generations):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": gen.text if gen.call is None else None,
            "refusal": None,
            "annotations": [],
        }
        if gen.call is not None:
            message["tool_calls"] = _tool_calls(gen.call)
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(gen),
            }
        )
    return {
        "id": draft.completion_id,
        "object": "chat.completion",
        "created": draft.created,
        "model": draft.model_name,
        "choices": choices,
        "usage": chat_usage_json(draft.usage),
        "service_tier": _tier(draft.request.service_tier),
    }


def _tier(requested: str | None) -> str:
    return "default" if requested in (None, "auto") else requested


def _deltas(gen: Generation) -> list[dict[str, Any]]:
    """A choice's deltas between its role and its finish: a tool call's name then its
    arguments, or the text a few words at a time."""
    if gen.call is not None:
        call = _tool_calls(gen.call)[0]
        function = call["function"]
        named = {"index": 0, "id": call["id"], "type": "function"}
        return [
            {"tool_calls": [{**named, "function": {"name": function["name"], "arguments": ""}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": function["arguments"]}}]},
        ]
    words = _WORD.findall(gen.text) if gen.text else []
    return [
        {"content": "".join(words[start : start + _DELTA_WORDS])}
        for start in range(0, len(words), _DELTA_WORDS)
    ]


def stream_chunks(draft: ChatDraft) -> list[dict[str, Any]]:
    """Every chunk of a streamed completion; the usage chunk last when include_usage is set."""
    include_usage = draft.request.include_usage
    base = {
        "id": draft.completion_id,
        "object": "chat.completion.chunk",
        "created": draft.created,
        "model": draft.model_name,
        "service_tier": _tier(draft.request.service_tier),
    }

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out = {
            **base,
            "choices": [
                {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
            ],
        }
        if include_usage:
            out["usage"] = None
        return out

    chunks = []
    for index, gen in enumerate(draft.generations):
        chunks.append(chunk(index, {"role": "assistant", "content": "", "refusal": None}))
        chunks += [chunk(index, delta) for delta in _deltas(gen)]
        chunks.append(chunk(index, {}, _finish_reason(gen)))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": chat_usage_json(draft.usage)})
    return chunks
