"""What a stream that broke off cost, estimated on that rare path only.

A provider bills what it generated, usage or not; a stream cut after bytes were sent never
brings its usage. The estimate: the request's input counted exactly with the tokenizer (as the
emulator and OpenAI count it, bar a few formatting tokens per message), all of it uncached; the
output relayed so far counted the same way. What it cannot see stays out: reasoning tokens
(never streamed), input held upstream (`previous_response_id`), output generated but not yet
sent. Nothing here runs unless a stream broke.
"""

from __future__ import annotations

from laneway.tokens import count_tokens
from laneway.usage import Usage
from laneway.wire.features import exact_input_tokens
from laneway.wire.request import ApiRequest
from laneway.wire.stream_tap import StreamTap


def broken_stream_usage(request: ApiRequest, tap: StreamTap) -> Usage:
    """The usage a broken stream is settled at: input counted, output seen so far counted."""
    return Usage(
        input_tokens=exact_input_tokens(request.endpoint, request.body),
        output_tokens=count_tokens(tap.output_seen()),
    )
