"""StreamTap relays SSE byte-exact at any chunking while reading usage, model, id and the end.

Streams come from the emulator's engine in-process (real Responses and Chat Completions event
sequences); the expected facts come from a plain reference reader below that parses every event.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.engine import Engine
from laneway.pricing.catalog import Catalog
from laneway.tokens import count_tokens
from laneway.usage import Usage
from laneway.wire.errors import ApiError
from laneway.wire.stream_tap import StreamTap, error_event
from laneway.wire.usage import usage_from_chat, usage_from_responses
from tests.openapi import validator

Endpoint = Literal["responses", "chat"]

RESPONSES_BODIES: dict[str, dict[str, Any]] = {
    "plain": {"model": "gpt-5.4", "input": "hello"},
    "reasoning": {
        "model": "gpt-5.2",
        "input": "why?",
        "reasoning": {"effort": "high", "summary": "auto"},
    },
    "incomplete": {"model": "gpt-5.4", "input": "long", "max_output_tokens": 16},
}
HI = [{"role": "user", "content": "hi"}]
CHAT_BODIES: dict[str, dict[str, Any]] = {
    "usage": {"model": "gpt-5.4", "messages": HI, "stream_options": {"include_usage": True}},
    "no usage": {"model": "gpt-5.4", "messages": HI},
    "reasoning n=2": {
        "model": "gpt-5.2",
        "messages": HI,
        "reasoning_effort": "high",
        "n": 2,
        "stream_options": {"include_usage": True},
    },
}
STREAMS = [("responses", name) for name in RESPONSES_BODIES] + [
    ("chat", name) for name in CHAT_BODIES
]


@functools.cache
def _engine() -> Engine:
    return Engine(EmulatorConfig(seed=7, speed=0, tier="none"), Catalog.load())


@functools.cache
def stream(endpoint: Endpoint, name: str) -> bytes:
    engine = _engine()
    caller = engine.authenticate("Bearer sk-test")
    if endpoint == "responses":
        reply = engine.responses(caller, {**RESPONSES_BODIES[name], "stream": True}, None)
    else:
        reply = engine.chat(caller, {**CHAT_BODIES[name], "stream": True}, None)
    assert reply.frames is not None
    return b"".join(reply.frames)


# -- the reference reader -------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    usage: Usage | None
    model: str | None
    response_id: str | None
    completed: bool
    events: int
    next_sequence_number: int


def payloads(body: bytes) -> list[Any]:
    """Every event's data, decoded, from an LF-separated stream (the emulator's style)."""
    out = []
    for event in body.split(b"\n\n")[:-1]:
        data = [line[6:] for line in event.split(b"\n") if line.startswith(b"data: ")]
        text = b"\n".join(data).decode()
        out.append(text if text == "[DONE]" else json.loads(text))
    return out


def expected(endpoint: Endpoint, body: bytes) -> Facts:
    events = payloads(body)
    if endpoint == "responses":
        first = events[0]["response"]
        last = events[-1]
        done = last["type"] in ("response.completed", "response.incomplete")
        return Facts(
            usage=usage_from_responses(last["response"]["usage"]) if done else None,
            model=first["model"],
            response_id=first["id"],
            completed=done,
            events=len(events),
            next_sequence_number=last["sequence_number"] + 1,
        )
    usages = [e["usage"] for e in events if isinstance(e, dict) and e.get("usage")]
    return Facts(
        usage=usage_from_chat(usages[-1]) if usages else None,
        model=events[0]["model"],
        response_id=events[0]["id"],
        completed=events[-1] == "[DONE]",
        events=len(events),
        next_sequence_number=0,
    )


def facts(tap: StreamTap) -> Facts:
    return Facts(
        tap.usage,
        tap.model,
        tap.response_id,
        tap.completed,
        tap.events,
        tap.next_sequence_number,
    )


def relay(tap: StreamTap, chunks: Iterable[bytes]) -> bytes:
    out = bytearray()
    for chunk in chunks:
        sent = tap.feed(chunk)
        assert isinstance(sent, bytes)
        out += sent
    out += tap.close()
    return bytes(out)


def split(body: bytes, cuts: Sequence[int]) -> list[bytes]:
    edges = [0, *sorted(cuts), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def event_ends(body: bytes, separator: bytes = b"\n\n") -> list[int]:
    """The offset just past each complete event of `body`."""
    ends, at = [0], 0
    for event in body.split(separator)[:-1]:
        at += len(event) + len(separator)
        ends.append(at)
    return ends


def complete(body: bytes, fed: int, ends: list[int]) -> bytes:
    """What must have been relayed once `fed` bytes of `body` arrived: every whole event."""
    return body[: ends[bisect.bisect_right(ends, fed) - 1]]


def usage_chunk(body: bytes) -> bytes:
    """The exact bytes of the usage-only chat chunk."""
    match = re.search(rb'data: \{[^\n]*"choices":\[\],"usage":\{[^\n]*\n\n', body)
    assert match is not None
    return match[0]


# -- relaying byte-exact at any chunking ----------------------------------------------------


@pytest.mark.parametrize(("endpoint", "name"), STREAMS)
def test_every_split_point(endpoint: Endpoint, name: str) -> None:
    body = stream(endpoint, name)
    want = expected(endpoint, body)
    assert want.completed
    ends = event_ends(body)
    for cut in range(len(body) + 1):
        tap = StreamTap(endpoint)
        assert tap.feed(body[:cut]) == complete(body, cut, ends), cut  # nothing held back
        assert tap.feed(body[cut:]) == body[len(complete(body, cut, ends)) :], cut
        assert tap.close() == b""
        assert facts(tap) == want, cut
        assert tap.usage_error is None
        assert tap.upstream_error is None
        assert not tap.failed


@pytest.mark.parametrize(("endpoint", "name"), STREAMS)
def test_one_byte_at_a_time(endpoint: Endpoint, name: str) -> None:
    body = stream(endpoint, name)
    tap = StreamTap(endpoint)
    assert relay(tap, (body[i : i + 1] for i in range(len(body)))) == body
    assert facts(tap) == expected(endpoint, body)


@pytest.mark.parametrize(("endpoint", "name"), STREAMS)
def test_whole_stream_in_one_chunk_and_event_by_event(endpoint: Endpoint, name: str) -> None:
    body = stream(endpoint, name)
    tap = StreamTap(endpoint)
    assert relay(tap, [body]) == body
    assert facts(tap) == expected(endpoint, body)
    tap = StreamTap(endpoint)
    out = [tap.feed(event + b"\n\n") for event in body.split(b"\n\n")[:-1]]
    assert out == [event + b"\n\n" for event in body.split(b"\n\n")[:-1]]  # nothing held back
    assert facts(tap) == expected(endpoint, body)


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(STREAMS),
    crlf=st.booleans(),
    drop=st.booleans(),
    data=st.data(),
)
def test_random_chunking(
    which: tuple[Endpoint, str], crlf: bool, drop: bool, data: st.DataObject
) -> None:
    endpoint, name = which
    body = stream(endpoint, name)
    want = expected(endpoint, body)
    chunk = usage_chunk(body) if drop and endpoint == "chat" and want.usage else b""
    if crlf:
        body, chunk = body.replace(b"\n", b"\r\n"), chunk.replace(b"\n", b"\r\n")
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=40))
    tap = StreamTap(endpoint, drop_usage_chunk=drop)
    ends = event_ends(body, b"\r\n\r\n" if crlf else b"\n\n")
    out, fed = b"", 0
    for piece in split(body, cuts):
        out += tap.feed(piece)
        fed += len(piece)
        whole = complete(body, fed, ends)
        assert out == (whole.replace(chunk, b"") if chunk else whole)  # every whole event, now
    assert out + tap.close() == (body.replace(chunk, b"") if chunk else body)
    assert facts(tap) == want


def test_crlf_every_split_point() -> None:
    body = stream("chat", "usage")
    crlf = body.replace(b"\n", b"\r\n")
    chunk = usage_chunk(body).replace(b"\n", b"\r\n")
    want = expected("chat", body)
    ends = event_ends(crlf, b"\r\n\r\n")
    for cut in range(len(crlf) + 1):
        tap = StreamTap("chat", drop_usage_chunk=True)
        first = tap.feed(crlf[:cut])
        assert first == complete(crlf, cut, ends).replace(chunk, b""), cut
        assert first + tap.feed(crlf[cut:]) + tap.close() == crlf.replace(chunk, b""), cut
        assert facts(tap) == want, cut


@pytest.mark.parametrize("separator", [b"\n\n", b"\r\n\r\n"], ids=["LF", "CRLF"])
def test_boundary_split_across_feeds(separator: bytes) -> None:
    # The blank line ending an event arrives in two pieces, the second followed by more bytes.
    body = stream("responses", "plain").replace(b"\n", separator[: len(separator) // 2])
    ends = event_ends(body, separator)
    for end in ends[1:]:
        for inside in range(1, len(separator)):
            cut = end - len(separator) + inside
            tap = StreamTap("responses")
            first = tap.feed(body[:cut])
            assert first == complete(body, cut, ends)
            assert first + tap.feed(body[cut : end + 5]) == body[:end]  # released at once


def test_event_split_inside_data_prefix() -> None:
    body = stream("responses", "reasoning")
    at = body.rindex(b"data: ") + 2  # "da" | "ta: {...response.completed...}"
    tap = StreamTap("responses")
    first = tap.feed(body[:at])
    assert first == body[: body.rindex(b"event: ")]  # all but the unfinished terminal event
    assert not tap.completed
    assert tap.usage is None
    assert tap.feed(body[at:]) == body[len(first) :]
    assert facts(tap) == expected("responses", body)


def test_mixed_line_endings() -> None:
    # CRLF lines closed by an LF blank line and the reverse: still one boundary each.
    body = stream("chat", "usage")
    events = body.split(b"\n\n")[:-1]
    mixed = b"".join(
        e.replace(b"\n", b"\r\n") + (b"\r\n\n" if i % 2 else b"\n\r\n")
        for i, e in enumerate(events)
    )
    tap = StreamTap("chat")
    assert relay(tap, split(mixed, range(0, len(mixed), 7))) == mixed
    assert facts(tap) == expected("chat", body)


# -- the Chat usage chunk -------------------------------------------------------------------


def test_drop_usage_chunk_every_split_point() -> None:
    body = stream("chat", "reasoning n=2")
    relayed = body.replace(usage_chunk(body), b"")
    want = expected("chat", body)
    for cut in range(len(body) + 1):
        tap = StreamTap("chat", drop_usage_chunk=True)
        assert relay(tap, (body[:cut], body[cut:])) == relayed, cut
        assert facts(tap) == want, cut  # still read, and counted


@pytest.mark.parametrize(("endpoint", "name"), [("chat", "no usage"), ("responses", "plain")])
def test_drop_usage_chunk_without_one_and_on_responses(endpoint: Endpoint, name: str) -> None:
    body = stream(endpoint, name)
    tap = StreamTap(endpoint, drop_usage_chunk=True)
    assert relay(tap, [body]) == body


def test_chat_without_usage_reads_none() -> None:
    tap = StreamTap("chat")
    relay(tap, [stream("chat", "no usage")])
    assert tap.usage is None
    assert tap.usage_error is None
    assert tap.completed
    assert tap.model == "gpt-5.4"


def test_chat_formatting_with_spaces_after_colons() -> None:
    body = stream("chat", "usage")
    spaced = b"".join(
        b"data: " + (json.dumps(p).encode() if p != "[DONE]" else b"[DONE]") + b"\n\n"
        for p in payloads(body)
    )
    assert b'"usage": {' in spaced
    assert b'"choices": [],' in spaced
    tap = StreamTap("chat", drop_usage_chunk=True)
    relayed = relay(tap, split(spaced, range(0, len(spaced), 50)))
    assert facts(tap) == expected("chat", body)
    assert b'"usage": {' not in relayed
    assert relayed.count(b"\n\n") == spaced.count(b"\n\n") - 1


def test_usage_on_a_content_chunk_is_read_but_not_dropped() -> None:
    # Some compatible servers put usage on the last content chunk; that chunk is never dropped.
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    first = {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "a"}}]}
    last = {**first, "usage": usage}
    body = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in (first, last))
    tap = StreamTap("chat", drop_usage_chunk=True)
    assert relay(tap, [body + b"data: [DONE]\n\n"]) == body + b"data: [DONE]\n\n"
    assert tap.usage == Usage(input_tokens=3, output_tokens=2)


# -- broken, failed and odd streams ---------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "name"), STREAMS)
def test_stream_cut_mid_event(endpoint: Endpoint, name: str) -> None:
    body = stream(endpoint, name)
    events = body.split(b"\n\n")[:-1]
    whole = b"".join(e + b"\n\n" for e in events[:-2])
    cut = whole + events[-2][: len(events[-2]) // 2]
    tap = StreamTap(endpoint)
    sent = b"".join(tap.feed(c) for c in split(cut, range(0, len(cut), 1000)))
    assert sent == whole
    assert tap.close() == cut[len(whole) :]
    assert tap.close() == b""
    assert not tap.completed
    assert not tap.ended
    assert tap.events == len(events) - 2
    if endpoint == "responses":
        assert tap.usage is None
        assert tap.next_sequence_number == len(events) - 2


def test_next_sequence_number_follows_each_event() -> None:
    body = stream("responses", "reasoning")
    tap = StreamTap("responses")
    assert tap.next_sequence_number == 0
    for number, event in enumerate(body.split(b"\n\n")[:-1]):
        tap.feed(event + b"\n")
        assert tap.next_sequence_number == number  # the event is not whole yet
        tap.feed(b"\n")
        assert tap.next_sequence_number == number + 1
        tap.feed(b": keep-alive\n\n")  # a comment neither counts nor hides the number
        assert tap.next_sequence_number == number + 1


@pytest.mark.parametrize("nested", [True, False], ids=["live API shape", "spec shape"])
def test_responses_upstream_error_event(nested: bool) -> None:
    body = stream("responses", "plain")
    events = body.split(b"\n\n")[:-1]
    error = {"type": "server_error", "code": "server_error", "message": "boom", "param": None}
    payload: dict[str, Any] = {"type": "error", "sequence_number": 4}
    payload.update({"error": error} if nested else {"code": "server_error", "message": "boom"})
    broken = b"".join(e + b"\n\n" for e in events[:4])
    broken += b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"
    tap = StreamTap("responses")
    assert relay(tap, split(broken, range(0, len(broken), 13))) == broken
    assert tap.upstream_error == (
        error if nested else {"message": "boom", "code": "server_error", "param": None}
    )
    assert not tap.completed
    assert not tap.failed
    assert tap.ended
    assert tap.usage is None
    assert tap.next_sequence_number == 5


def test_chat_upstream_error_event() -> None:
    body = stream("chat", "usage")
    events = body.split(b"\n\n")[:-1]
    error = {"message": "overloaded", "type": "server_error", "param": None, "code": None}
    broken = b"".join(e + b"\n\n" for e in events[:3]) + b'data: {"error": '
    broken += orjson.dumps(error) + b"}\n\n"
    tap = StreamTap("chat")
    assert relay(tap, split(broken, range(0, len(broken), 11))) == broken
    assert tap.upstream_error == error
    assert not tap.completed
    assert tap.ended
    assert tap.usage is None


def test_response_failed() -> None:
    body = stream("responses", "plain")
    events = body.split(b"\n\n")[:-1]
    last = payloads(body)[-1]
    failure = {"code": "server_error", "message": "The model failed."}
    last["type"] = "response.failed"
    last["response"].update(status="failed", error=failure)
    failed = b"".join(e + b"\n\n" for e in events[:-1])
    failed += b"event: response.failed\ndata: " + orjson.dumps(last) + b"\n\n"
    tap = StreamTap("responses")
    assert relay(tap, [failed]) == failed
    assert tap.failed
    assert not tap.completed
    assert tap.ended
    assert tap.upstream_error == failure
    assert tap.usage == expected("responses", body).usage  # a failed response still bills


def test_responses_without_event_lines() -> None:
    body = stream("responses", "reasoning")
    bare = re.sub(rb"event: [^\n]*\n", b"", body)
    tap = StreamTap("responses")
    assert relay(tap, split(bare, range(0, len(bare), 97))) == bare
    assert facts(tap) == expected("responses", body)


@pytest.mark.parametrize(("endpoint", "name"), [("responses", "reasoning"), ("chat", "usage")])
def test_fields_without_the_space_after_the_colon(endpoint: Endpoint, name: str) -> None:
    # SSE makes the space after "data:" and "event:" optional.
    body = stream(endpoint, name)
    compact = body.replace(b"data: ", b"data:").replace(b"event: ", b"event:")
    tap = StreamTap(endpoint, drop_usage_chunk=True)
    relayed = relay(tap, split(compact, range(0, len(compact), 61)))
    assert facts(tap) == expected(endpoint, body)
    if endpoint == "chat":
        assert relayed == compact.replace(usage_chunk(body).replace(b"data: ", b"data:"), b"")


def test_multi_line_data_and_comments() -> None:
    # SSE joins consecutive data lines with "\n"; JSON allows that newline between tokens.
    body = stream("responses", "plain")
    events = body.split(b"\n\n")[:-1]
    terminal = events[-1].replace(b',"usage":', b',\ndata: "usage":')
    assert terminal.count(b"data: ") == 2
    odd = b": hello\n\n" + b"\n\n".join(events[:-1]) + b"\n\n: ping\n\n" + terminal + b"\n\n"
    tap = StreamTap("responses")
    assert relay(tap, split(odd, range(0, len(odd), 31))) == odd
    want = expected("responses", body)
    assert (tap.usage, tap.model, tap.completed) == (want.usage, want.model, True)


def test_text_naming_markers_changes_nothing() -> None:
    # Content that spells event names, "error" or [DONE] must not be read as those events.
    text = 'response.completed "error" data: [DONE] {"usage": {"prompt_tokens": 1}}'
    delta = {"type": "response.output_text.delta", "delta": text, "sequence_number": 0}
    body = b"event: response.output_text.delta\ndata: " + orjson.dumps(delta) + b"\n\n"
    delta2 = {"type": "response.output_text.delta", "delta": "error", "sequence_number": 1}
    body += b"data: " + orjson.dumps(delta2) + b"\n\n"
    tap = StreamTap("responses")
    assert relay(tap, [body]) == body
    assert (tap.completed, tap.usage, tap.upstream_error, tap.usage_error) == (
        False,
        None,
        None,
        None,
    )
    assert tap.next_sequence_number == 2
    first = {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "x"}}]}
    chunk = {**first, "choices": [{"index": 0, "delta": {"content": text}}], "usage": None}
    chat = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in (first, chunk))
    tap = StreamTap("chat", drop_usage_chunk=True)
    assert relay(tap, [chat]) == chat
    assert (tap.completed, tap.usage, tap.upstream_error) == (False, None, None)


@pytest.mark.parametrize(
    ("endpoint", "block", "message"),
    [
        ("chat", {"prompt_tokens": "3", "completion_tokens": 1}, "'prompt_tokens' is not"),
        ("chat", {"completion_tokens": 1}, "has no 'prompt_tokens'"),
        ("responses", {"output_tokens": 1}, "has no 'input_tokens'"),
        ("responses", {"input_tokens": 1, "output_tokens": -1}, "must not be negative"),
    ],
)
def test_malformed_usage(endpoint: Endpoint, block: dict[str, Any], message: str) -> None:
    final: dict[str, Any]
    if endpoint == "chat":
        final = {"id": "c1", "model": "m", "choices": [], "usage": block}
        body = b"data: " + orjson.dumps(final) + b"\n\ndata: [DONE]\n\n"
    else:
        response = {"id": "resp_1", "model": "m", "status": "completed", "usage": block}
        final = {"type": "response.completed", "response": response, "sequence_number": 0}
        body = b"event: response.completed\ndata: " + orjson.dumps(final) + b"\n\n"
    tap = StreamTap(endpoint)
    assert relay(tap, [body]) == body
    assert tap.usage is None
    assert tap.usage_error is not None
    assert message in tap.usage_error
    assert tap.completed


def test_usage_event_that_is_not_json() -> None:
    body = b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":1,\n\ndata: [DONE]\n\n'
    tap = StreamTap("chat")
    assert relay(tap, [body]) == body
    assert tap.usage is None
    assert tap.usage_error == "the event carrying usage is not valid JSON"


def test_empty_feeds_and_empty_stream() -> None:
    tap = StreamTap("responses")
    assert tap.feed(b"") == b""
    assert tap.close() == b""
    assert facts(tap) == Facts(None, None, None, False, 0, 0)


# -- the error event the gateway appends ----------------------------------------------------


ERRORS = [
    ApiError(502, "Upstream connection lost.", type="server_error", code="upstream_error"),
    ApiError(400, "Bad 'x'.", param="x", code=None),
]


@pytest.mark.parametrize("error", ERRORS, ids=["server", "param"])
def test_responses_error_event_matches_the_spec(error: ApiError) -> None:
    rendered = error_event("responses", error, sequence_number=7)
    assert rendered.startswith(b"event: error\ndata: ")
    assert rendered.endswith(b"\n\n")
    (payload,) = payloads(rendered)
    validator("ResponseErrorEvent").validate(payload)
    assert payload["sequence_number"] == 7
    assert (payload["code"], payload["message"], payload["param"]) == (
        error.code,
        error.message,
        error.param,
    )
    assert payload["error"] == error.to_json()["error"]  # the live API's nested form too


@pytest.mark.parametrize("error", ERRORS, ids=["server", "param"])
def test_chat_error_event_matches_the_spec(error: ApiError) -> None:
    rendered = error_event("chat", error)
    assert rendered == b"data: " + error.body() + b"\n\n"
    (payload,) = payloads(rendered)
    validator("ErrorResponse").validate(payload)


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
def test_appended_error_event_reads_back(endpoint: Endpoint) -> None:
    body = stream(endpoint, "plain" if endpoint == "responses" else "usage")
    events = body.split(b"\n\n")[:-1]
    tap = StreamTap(endpoint)
    sent = relay(tap, [b"\n\n".join(events[:5]) + b"\n\n"])
    appended = tap.error_event(ERRORS[0])
    reader = StreamTap(endpoint)
    relay(reader, [sent + appended])
    assert reader.upstream_error == ERRORS[0].to_json()["error"]
    if endpoint == "responses":
        assert payloads(appended)[0]["sequence_number"] == 5
        assert reader.next_sequence_number == 6


# -- the output seen so far (what a broken stream is estimated from) -------------------------


def reference_output(endpoint: Endpoint, body: bytes) -> str:
    """The output text in `body`'s events, read the plain way."""
    text = []
    for event in payloads(body):
        if not isinstance(event, dict):
            continue
        if endpoint == "responses":
            if event["type"].endswith(".delta") and isinstance(event.get("delta"), str):
                text.append(event["delta"])
            continue
        for choice in event.get("choices", []):
            delta = choice["delta"]
            text.append(delta.get("content") or "")
            for call in delta.get("tool_calls") or []:
                text.append(call["function"].get("name") or "")
                text.append(call["function"].get("arguments") or "")
    return "".join(text)


@pytest.mark.parametrize(("endpoint", "name"), STREAMS)
def test_output_seen_is_the_text_relayed_so_far(endpoint: Endpoint, name: str) -> None:
    body = stream(endpoint, name)
    ends = event_ends(body)
    assert reference_output(endpoint, body)  # every stream here has some output
    for events in range(len(ends)):
        prefix = body[: ends[events]]
        tap = StreamTap(endpoint)
        relay(tap, split(prefix, range(0, len(prefix), 97)))
        assert tap.output_seen() == reference_output(endpoint, prefix), events


@pytest.mark.parametrize(("endpoint", "name"), [("responses", "plain"), ("chat", "usage")])
def test_output_seen_counts_as_the_billed_output(endpoint: Endpoint, name: str) -> None:
    # The emulator's words are one token each: the whole text counts as its billed output.
    body = stream(endpoint, name)
    tap = StreamTap(endpoint)
    relay(tap, [body])
    assert tap.usage is not None
    assert count_tokens(tap.output_seen()) == tap.usage.output_tokens > 0


def test_output_seen_reads_tool_calls_and_skips_what_is_not_json() -> None:
    call = {"function": {"name": "lookup", "arguments": '{"q":1}'}, "index": 0}
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
    tap = StreamTap("chat")
    tap.feed(b"data: " + orjson.dumps(chunk) + b"\n\ndata: {not json\n\n: comment\n\n")
    assert tap.output_seen() == 'lookup{"q":1}'
