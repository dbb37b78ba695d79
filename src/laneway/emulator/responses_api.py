"""Responses API objects and their streaming event sequence, shaped as OpenAI sends them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from laneway.emulator.generation import Generation
from laneway.emulator.responses_request import ResponsesRequest
from laneway.ids import new_id
from laneway.usage import Usage
from laneway.wire.usage import responses_usage_json

_DELTA_WORDS = 4  # words per output_text.delta event
_WORD = re.compile(r"\s*\S+")

Event = tuple[str, dict[str, Any]]  # (type, payload without type/sequence_number)


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class ResponseDraft:
    """Everything a response is built from."""

    request: ResponsesRequest
    response_id: str
    created_at: int
    model_name: str
    effort: str
    generation: Generation
    usage: Usage


def output_items(draft: ResponseDraft, *, completed: bool = True) -> list[dict[str, Any]]:
    gen = draft.generation
    items: list[dict[str, Any]] = []
    if gen.reasoning_tokens:
        summary = []
        if draft.request.summary not in (None, "none"):
            summary = [
                {"type": "summary_text", "text": "Weighed the request and planned an answer."}
            ]
        items.append({"id": new_id("rs"), "type": "reasoning", "summary": summary})
    if gen.call is not None:
        items.append(
            {
                "id": new_id("fc"),
                "type": "function_call",
                "call_id": gen.call.call_id,
                "name": gen.call.name,
                "arguments": gen.call.arguments,
                "status": "completed",
            }
        )
    elif gen.text is not None:
        status = "incomplete" if gen.incomplete else "completed"
        items.append(
            {
                "id": new_id("msg"),
                "type": "message",
                "status": status if completed else "in_progress",
                "role": "assistant",
                "content": [_text_part(gen.text)] if completed else [],
            }
        )
    return items


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_object(
    draft: ResponseDraft, output: list[dict[str, Any]], *, final: bool = True
) -> dict[str, Any]:
    req = draft.request
    gen = draft.generation
    status = ("incomplete" if gen.incomplete else "completed") if final else "in_progress"
    response = {
        "id": draft.response_id,
        "object": "response",
        "created_at": draft.created_at,
        "status": status,
        "background": req.background,
        "error": None,
        "incomplete_details": (
            {"reason": "max_output_tokens"} if final and gen.incomplete else None
        ),
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "max_tool_calls": None,
        "model": draft.model_name,
        "output": output,
        "parallel_tool_calls": req.parallel_tool_calls,
        "previous_response_id": req.previous_response_id,
        "prompt_cache_key": req.prompt_cache_key,
        "reasoning": {"effort": draft.effort, "summary": req.summary},
        "safety_identifier": req.body.get("safety_identifier"),
        "service_tier": _tier(req.service_tier),
        "store": req.store,
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "text": {"format": dict(req.text_format), "verbosity": "medium"},
        "tool_choice": req.tool_choice,
        "tools": req.tools,
        "top_logprobs": 0,
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "truncation": "disabled",
        "usage": responses_usage_json(draft.usage) if final else None,
        "metadata": req.metadata or {},
    }
    user = req.body.get("user")
    if user is not None:  # a string when present; the spec has no null for it
        response["user"] = user
    return response


def _tier(requested: str | None) -> str:
    return "default" if requested in (None, "auto") else requested


def stream_events(draft: ResponseDraft, obfuscate: str | None) -> list[Event]:
    """The full event sequence of a streamed response, ending with completed or incomplete."""
    final_output = output_items(draft)
    events: list[Event] = [
        ("response.created", {"response": response_object(draft, [], final=False)}),
        ("response.in_progress", {"response": response_object(draft, [], final=False)}),
    ]
    for index, item in enumerate(final_output):
        if item["type"] == "message":
            events.extend(_message_events(index, item, obfuscate))
        elif item["type"] == "function_call":
            events.extend(_call_events(index, item, obfuscate))
        else:
            events.append(("response.output_item.added", {"output_index": index, "item": item}))
            events.append(("response.output_item.done", {"output_index": index, "item": item}))
    done = "response.incomplete" if draft.generation.incomplete else "response.completed"
    events.append((done, {"response": response_object(draft, final_output)}))
    return events


def _message_events(index: int, item: dict[str, Any], obfuscate: str | None) -> list[Event]:
    text: str = item["content"][0]["text"]
    item_id = item["id"]
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    started = {**item, "status": "in_progress", "content": []}
    events: list[Event] = [
        ("response.output_item.added", {"output_index": index, "item": started}),
        ("response.content_part.added", {**where, "part": _text_part("")}),
    ]
    words = _WORD.findall(text)
    for start in range(0, len(words), _DELTA_WORDS):
        delta: dict[str, Any] = {
            **where,
            "delta": "".join(words[start : start + _DELTA_WORDS]),
            "logprobs": [],
        }
        if obfuscate is not None:
            delta["obfuscation"] = obfuscate[: 16 - len(delta["delta"]) % 16]
        events.append(("response.output_text.delta", delta))
    events.append(("response.output_text.done", {**where, "text": text, "logprobs": []}))
    events.append(("response.content_part.done", {**where, "part": _text_part(text)}))
    events.append(("response.output_item.done", {"output_index": index, "item": item}))
    return events


def _call_events(index: int, item: dict[str, Any], obfuscate: str | None) -> list[Event]:
    where = {"item_id": item["id"], "output_index": index}
    delta: dict[str, Any] = {**where, "delta": item["arguments"]}
    if obfuscate is not None:
        delta["obfuscation"] = obfuscate[:8]
    return [
        (
            "response.output_item.added",
            {"output_index": index, "item": {**item, "arguments": "", "status": "in_progress"}},
        ),
        ("response.function_call_arguments.delta", delta),
        (
            "response.function_call_arguments.done",
            {**where, "name": item["name"], "arguments": item["arguments"]},
        ),
        ("response.output_item.done", {"output_index": index, "item": item}),
    ]
