"""StreamTap on real HTTP: emulator streams read as the socket delivers them, a stream cut by a
fault, and the official SDK (strict mode) reading what the tap relayed plus an appended error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.wire.errors import ApiError
from laneway.wire.stream_tap import Endpoint, StreamTap
from tests.unit.test_stream_tap import expected, payloads

AUTH = {"Authorization": "Bearer sk-test"}
PATHS: dict[Endpoint, str] = {"responses": "/responses", "chat": "/chat/completions"}
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me about rivers."}]
BODIES: list[tuple[Endpoint, dict[str, Any]]] = [
    ("responses", {"model": "gpt-5.4", "input": "Tell me about rivers."}),
    ("responses", {"model": "gpt-5.2", "input": "Why?", "reasoning": {"effort": "high"}}),
    ("chat", {"model": "gpt-5.4", "messages": HI, "stream_options": {"include_usage": True}}),
    ("chat", {"model": "gpt-5.2", "messages": HI, "reasoning_effort": "low"}),
]
UPSTREAM_LOST = ApiError(502, "The upstream connection was lost.", type="server_error")


@pytest.fixture(scope="module")
def paced() -> Iterator[EmulatorServer]:
    # Paced frames, so events arrive in many reads as from a real upstream.
    with EmulatorServer(EmulatorConfig(seed=7, speed=0.005, tier="none")) as server:
        yield server


def read_through(
    server: EmulatorServer, endpoint: Endpoint, body: dict[str, Any], tap: StreamTap, **headers: str
) -> tuple[bytes, bytes, int]:
    """(what upstream sent, what the tap relayed, reads); stops quietly where the body breaks."""
    raw, sent, reads = bytearray(), bytearray(), 0
    with (
        httpx.Client(base_url=server.base_url, timeout=30) as client,
        client.stream(
            "POST", PATHS[endpoint], json={**body, "stream": True}, headers={**AUTH, **headers}
        ) as response,
    ):
        assert response.status_code == 200
        try:
            for chunk in response.iter_raw():
                raw += chunk
                sent += tap.feed(chunk)
                reads += 1
        except httpx.RemoteProtocolError:
            return bytes(raw), bytes(sent), reads
    return bytes(raw), bytes(sent + tap.close()), reads


def sdk_over(stream: bytes) -> OpenAI:
    """An SDK client whose every request is answered with `stream` as an SSE body."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream)

    return OpenAI(
        base_url="http://gateway.test/v1",
        api_key="sk-test",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
        _strict_response_validation=True,
    )


def consume(client: OpenAI, endpoint: Endpoint, seen: list[Any]) -> None:
    """Iterate a streamed request to its end, keeping each event the SDK yields."""
    if endpoint == "responses":
        seen.extend(client.responses.create(model="gpt-5.4", input="x", stream=True))
    else:
        seen.extend(client.chat.completions.create(model="gpt-5.4", messages=HI, stream=True))


@pytest.mark.parametrize(("endpoint", "body"), BODIES)
def test_live_stream_relayed_byte_exact(
    paced: EmulatorServer, endpoint: Endpoint, body: dict[str, Any]
) -> None:
    tap = StreamTap(endpoint)
    raw, sent, reads = read_through(paced, endpoint, body, tap)
    assert reads > 3  # the pacing really split the stream
    assert sent == raw
    want = expected(endpoint, raw)
    assert (tap.usage, tap.model, tap.response_id) == (want.usage, want.model, want.response_id)
    assert (tap.completed, tap.events) == (True, want.events)
    assert (tap.usage is None) == (endpoint == "chat" and "stream_options" not in body)


def test_sdk_reads_chat_with_the_forced_usage_chunk_dropped(paced: EmulatorServer) -> None:
    # The gateway asked upstream for usage; the client did not, and must not see the extra chunk.
    body = {"model": "gpt-5.4", "messages": HI, "stream_options": {"include_usage": True}}
    tap = StreamTap("chat", drop_usage_chunk=True)
    raw, sent, _ = read_through(paced, "chat", body, tap)
    assert tap.usage == expected("chat", raw).usage
    with sdk_over(sent) as client:
        chunks = list(client.chat.completions.create(model="gpt-5.4", messages=HI, stream=True))
    assert len(chunks) == len(payloads(raw)) - 2  # less the usage chunk and [DONE]
    assert all(chunk.choices and chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks)


def test_sdk_reads_the_relayed_responses_stream(paced: EmulatorServer) -> None:
    tap = StreamTap("responses")
    _, sent, _ = read_through(paced, "responses", BODIES[1][1], tap)
    with sdk_over(sent) as client:
        events = list(client.responses.create(model="gpt-5.2", input="Why?", stream=True))
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.usage is not None
    assert tap.usage is not None
    assert final.response.usage.input_tokens == tap.usage.input_tokens
    assert final.response.usage.output_tokens == tap.usage.output_tokens
    assert final.response.usage.output_tokens_details.reasoning_tokens == (
        tap.usage.reasoning_tokens
    )


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
def test_cut_stream_then_appended_error_reaches_the_sdk_as_api_error(
    paced: EmulatorServer, endpoint: Endpoint
) -> None:
    body = BODIES[0][1] if endpoint == "responses" else BODIES[2][1]
    tap = StreamTap(endpoint)
    raw, sent, _ = read_through(paced, endpoint, body, tap, **{"x-emulator-fault": "cut=5"})
    assert sent == raw  # the emulator cuts between events
    assert (tap.events, tap.completed, tap.usage) == (5, False, None)
    assert tap.next_sequence_number == (5 if endpoint == "responses" else 0)
    seen: list[Any] = []
    with (
        sdk_over(sent + tap.error_event(UPSTREAM_LOST)) as client,
        pytest.raises(openai.APIError, match="upstream connection was lost") as raised,
    ):
        consume(client, endpoint, seen)
    assert len(seen) == 5  # every relayed event reached the client before the error
    assert raised.value.body == UPSTREAM_LOST.to_json()["error"]
    if endpoint == "responses":
        assert [event.sequence_number for event in seen] == [0, 1, 2, 3, 4]
