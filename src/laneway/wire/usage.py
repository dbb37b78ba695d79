"""Reading `Usage` from the three shapes OpenAI reports it in, and writing it back.

Responses (and the Batch object):
    {input_tokens, input_tokens_details: {cached_tokens, cache_write_tokens},
     output_tokens, output_tokens_details: {reasoning_tokens}, total_tokens}
Chat Completions:
    {prompt_tokens, completion_tokens, total_tokens,
     prompt_tokens_details: {cached_tokens, cache_write_tokens, ...},
     completion_tokens_details: {reasoning_tokens, ...}}
Embeddings (a `list` of vectors):
    {prompt_tokens, total_tokens}: all input, nothing written
A Batch output line wraps one of the first two in {"response": {"body": {...}}}.

Readers are strict about the totals that bill (a missing `input_tokens` is an error, never a zero)
and tolerant of optional details (2025 captures of the live API lack `cache_write_tokens`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from laneway.errors import UsageError
from laneway.usage import Usage

JsonObject = Mapping[str, Any]


def _required_int(block: JsonObject, key: str, shape: str) -> int:
    if key not in block:
        raise UsageError(f"{shape} usage has no {key!r}")
    value = block[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{shape} usage field {key!r} is not an integer: {value!r}")
    return value


def _detail_int(block: JsonObject, details_key: str, key: str, shape: str) -> int:
    details = block.get(details_key)
    if details is None:
        return 0
    if not isinstance(details, Mapping):
        raise UsageError(f"{shape} usage field {details_key!r} is not an object")
    value = details.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{shape} usage field {details_key}.{key} is not an integer: {value!r}")
    return value


def _as_object(block: object, shape: str) -> JsonObject:
    if not isinstance(block, Mapping):
        raise UsageError(f"{shape} usage is not an object: {block!r}")
    return block


def usage_from_responses(block: object) -> Usage:
    """Usage from a Responses API `usage` object (also the Batch object's `usage`)."""
    shape = "Responses"
    usage = _as_object(block, shape)
    return Usage(
        input_tokens=_required_int(usage, "input_tokens", shape),
        output_tokens=_required_int(usage, "output_tokens", shape),
        cached_input_tokens=_detail_int(usage, "input_tokens_details", "cached_tokens", shape),
        cache_write_tokens=_detail_int(usage, "input_tokens_details", "cache_write_tokens", shape),
        reasoning_tokens=_detail_int(usage, "output_tokens_details", "reasoning_tokens", shape),
    )


def usage_from_chat(block: object) -> Usage:
    """Usage from a Chat Completions `usage` object."""
    shape = "Chat Completions"
    usage = _as_object(block, shape)
    return Usage(
        input_tokens=_required_int(usage, "prompt_tokens", shape),
        output_tokens=_required_int(usage, "completion_tokens", shape),
        cached_input_tokens=_detail_int(usage, "prompt_tokens_details", "cached_tokens", shape),
        cache_write_tokens=_detail_int(usage, "prompt_tokens_details", "cache_write_tokens", shape),
        reasoning_tokens=_detail_int(usage, "completion_tokens_details", "reasoning_tokens", shape),
    )


def usage_from_embeddings(block: object) -> Usage:
    """Usage from an Embeddings `usage` object: input only."""
    shape = "Embeddings"
    usage = _as_object(block, shape)
    return Usage(input_tokens=_required_int(usage, "prompt_tokens", shape), output_tokens=0)


def usage_from_body(body: object) -> Usage:
    """Usage from a whole Responses, Chat Completions or Embeddings response body, told apart
    by `object`."""
    obj = _as_object(body, "response body")
    kind = obj.get("object")
    if kind == "response":
        return usage_from_responses(obj.get("usage"))
    if kind in ("chat.completion", "chat.completion.chunk"):
        return usage_from_chat(obj.get("usage"))
    if kind == "list":
        return usage_from_embeddings(obj.get("usage"))
    raise UsageError(f"cannot read usage from a body whose object is {kind!r}")


def usage_from_batch_line(line: object) -> Usage | None:
    """Usage of one Batch output line; None for a line that failed (error lines bill nothing)."""
    obj = _as_object(line, "batch output line")
    response = obj.get("response")
    if response is None:
        return None
    body = _as_object(response, "batch output line response").get("body")
    if not isinstance(body, Mapping) or "usage" not in body:
        return None
    return usage_from_body(body)


def responses_usage_json(usage: Usage) -> dict[str, Any]:
    """The Responses API `usage` object for `usage` (cache_write_tokens always present)."""
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def chat_usage_json(usage: Usage) -> dict[str, Any]:
    """The Chat Completions `usage` object for `usage`."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
