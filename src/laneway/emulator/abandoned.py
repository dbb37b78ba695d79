"""What the emulator bills for a call it abandons: a `hang` it never answers, a stream it `cut`s.

A provider bills what its model generated, whether or not the answer reached the client. With
`abandoned_billing = "generated"` (the default) the emulator does the same, up to the point the
call was abandoned:

    hang          the model generated its whole answer; only the reply never left: billed in
                  full, as if answered
    cut after k   the input; the reasoning (it comes before any visible token) once any output
                  was sent; the output in the k events sent (generation stops with the stream)

With `"none"` neither is billed at all (a provider that bills only what it delivered). A cut on a
whole (non-stream) answer does not happen (the body is sent whole), so it is billed in full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from laneway.emulator.config import AbandonedBilling
from laneway.emulator.faults import Fault
from laneway.tokens import count_tokens
from laneway.usage import Usage

_CALL = "function_call"
SentOutput = Callable[[int], int]  # output tokens in a stream's first k events

_RESPONSES_DELTAS = frozenset(
    ("response.output_text.delta", "response.function_call_arguments.delta")
)


def billed_usage(
    policy: AbandonedBilling, fault: Fault | None, usage: Usage, sent: SentOutput | None
) -> Usage | None:
    """What to bill for a served call (None: nothing). `sent`: None for a whole answer."""
    if fault is None or fault.kind not in ("hang", "cut"):
        return usage
    if policy == "none":
        return None
    if fault.kind == "hang" or sent is None:
        return usage
    visible = sent(fault.after_events or 0)
    reasoning = usage.reasoning_tokens if visible else 0
    return Usage(
        input_tokens=usage.input_tokens,
        output_tokens=visible + reasoning,
        cached_input_tokens=usage.cached_input_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=reasoning,
    )


def responses_sent(events: list[tuple[str, dict[str, Any]]]) -> SentOutput:
    """Output tokens in the first k Responses events: text and argument deltas, and a called
    function's name once its item was added (the model wrote it)."""

    def sent(k: int) -> int:
        tokens = 0
        for kind, payload in events[:k]:
            if kind in _RESPONSES_DELTAS:
                tokens += count_tokens(payload["delta"])
            elif (
                kind == "response.output_item.added" and payload["item"]["type"] == "function_call"
            ):
                tokens += count_tokens(payload["item"]["name"])
        return tokens

    return sent


def chat_sent(chunks: list[dict[str, Any]]) -> SentOutput:
    """Output tokens in the first k Chat chunks: content, tool-call names and arguments."""

    def sent(k: int) -> int:
        return sum(count_tokens(text) for chunk in chunks[:k] for text in _chat_texts(chunk))

    return sent


def _chat_texts(chunk: Mapping[str, Any]) -> Iterable[str]:
    for choice in chunk["choices"]:
        delta = choice["delta"]
        if delta.get("content"):
            yield delta["content"]
        for call in delta.get("tool_calls", ()):
            function = call["function"]
            yield from (text for text in (function.get("name"), function["arguments"]) if text)
