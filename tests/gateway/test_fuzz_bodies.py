"""Fuzzing: random and mutated bodies (wrong types, invalid encodings, deep nesting, number edge
cases) through the gateway and straight to the emulator. No answer is a server error (no fault
is injected here) and nothing is logged as an error, a traceback least of all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laneway.emulator.server import EmulatorServer
from tests.gateway.conftest import Running

MODELS = ["gpt-5.4-mini", "gpt-5.4-nano", "auto", "lane:coding", "lane:extraction", "nope"]
CHAT = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}]}
RESPONSES = {"model": "gpt-5.4-mini", "input": "hi"}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
RICH_CHAT = {
    **CHAT,
    "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c", "content": "42"},
    ],
    "tools": [TOOL],
    "stream_options": {"include_usage": True},
    "metadata": {"a": "b"},
    "max_completion_tokens": 16,
    "reasoning_effort": "low",
}
RICH_RESPONSES = {
    **RESPONSES,
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "42"},
    ],
    "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    "reasoning": {"effort": "low"},
    "text": {"format": {"type": "text"}},
    "max_output_tokens": 16,
}
NUMBERS = [
    b"0",
    b"-0",
    b"-1",
    b"1e308",
    b"-1e308",
    b"1e-400",
    b"1e400",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1.5",
    b"NaN",
    b"Infinity",
    b"0.000000000000000000001",
]
ENCODINGS = [
    b'{"model":"\xff\xfe","messages":[]}',
    b'{"model":"gpt-5.4-mini","messages":[{"role":"user","content":"\\ud800"}]}',
    b'{"model":"gpt-5.4-mini","input":"\xc3\x28"}',
    b"\xef\xbb\xbf" + orjson.dumps(CHAT),  # a byte-order mark
    orjson.dumps(CHAT).decode().encode("utf-16"),
    b'{"model":"gpt-5.4-mini","model":5,"messages":[]}',
    b"",
    b"null",
    b'"text"',
]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(MODELS),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], tuple(rest), new)}
    copy = list(value)
    copy[head] = _replaced(value[head], tuple(rest), new)
    return copy


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid body with one value (anywhere in it) replaced by a random one."""
    valid: dict[str, Any] = draw(st.sampled_from([CHAT, RESPONSES, RICH_CHAT, RICH_RESPONSES]))
    base = {**valid, "stream": draw(st.booleans())}
    paths = list(_paths(base))[1:]
    path = draw(st.sampled_from(paths))
    return orjson.dumps(_replaced(base, path, draw(json_value)))


@st.composite
def deep(draw: st.DrawFn) -> bytes:
    levels = draw(st.integers(min_value=100, max_value=400))
    opener, closer = draw(st.sampled_from([(b'{"a":', b"}"), (b"[", b"]")]))
    field = draw(st.sampled_from([b"metadata", b"tools", b"messages", b"input", b"x"]))
    nested = opener * levels + b"1" + closer * levels
    model = draw(st.sampled_from(MODELS)).encode()
    stream = draw(st.sampled_from([b"true", b"false"]))
    return b'{"model":"%s","stream":%s,"%s":%s}' % (model, stream, field, nested)


@st.composite
def numbered(draw: st.DrawFn) -> bytes:
    field = draw(
        st.sampled_from(
            [
                b"max_completion_tokens",
                b"max_output_tokens",
                b"temperature",
                b"n",
                b"top_p",
                b"seed",
                b"max_tokens",
            ]
        )
    )
    number = draw(st.sampled_from(NUMBERS))
    return b'{"model":"gpt-5.4-mini","input":"hi","messages":[],"%s":%s}' % (field, number)


bodies = st.one_of(
    mutated(),
    deep(),
    numbered(),
    st.sampled_from(ENCODINGS),
    json_value.map(orjson.dumps),
    st.dictionaries(
        st.sampled_from(["model", "messages", "input", "stream", "tools"]), json_value
    ).map(orjson.dumps),
    st.binary(max_size=64),
)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, headers={"authorization": "Bearer sk-fuzz"}) as client:
        yield client


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure repeats
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(body=bodies, path=st.sampled_from(["/chat/completions", "/responses"]))
def test_no_body_gets_a_server_error_or_a_traceback(
    gateway: Running,
    emulator: EmulatorServer,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    path: str,
) -> None:
    caplog.clear()
    for base in (gateway.base_url, emulator.base_url):
        answer = http.post(base + path, content=body, headers={"content-type": "application/json"})
        assert answer.status_code < 500, (base, body[:300], answer.text[:300])
        if answer.status_code >= 400:
            error = answer.json()["error"]
            assert set(error) == {"message", "type", "param", "code"}
            assert "Traceback" not in answer.text
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, (body[:300], caplog.text[-2000:])
    assert "Traceback" not in caplog.text
