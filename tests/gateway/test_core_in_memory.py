"""The gateway core with an in-memory transport: no sockets, injected clock, randomness, sleep."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from laneway.assembly import Assembly
from laneway.clock import ManualClock
from laneway.config import GatewayConfig
from laneway.gateway.client import Client
from laneway.gateway.observers import Observer
from laneway.http.messages import Response, StreamResponse
from laneway.ledger.record import LedgerRecord
from laneway.server.render import to_http
from laneway.upstream.breaker import BreakerSettings
from laneway.upstream.retry import RetryBudget
from laneway.upstream.secrets import REDACTED
from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import BodyBroken, NoAnswer, NotSent
from laneway.usage import Usage
from laneway.wire.errors import ApiError

SECRET = "sk-upstream-secret-do-not-leak"  # noqa: S105 - a fake, to prove it never leaks
CHAT = orjson.dumps({"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}]})
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    chunks: list[bytes | Exception] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    fail: Exception | None = None  # raised by send() instead of answering


class FakeResponse:
    def __init__(self, answer: Answer) -> None:
        self.status = answer.status
        self.headers: Mapping[str, str] = answer.headers
        self._answer = answer
        self.closed = False

    async def read(self) -> bytes:
        return self._answer.body

    async def chunks(self) -> AsyncIterator[bytes]:
        # Like a socket: a second reader goes on where the first stopped.
        pending = self._answer.chunks
        while pending:
            chunk = pending.pop(0)
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    def close(self) -> None:
        self.closed = True


class FakeTransport:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, dict[str, str], bytes]] = []

    async def send(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
        *,
        method: bytes = b"POST",
    ) -> FakeResponse:
        self.sent.append((url, dict(headers), body))
        answer = self.answers.pop(0)
        if answer.fail is not None:
            raise answer.fail
        return FakeResponse(answer)

    async def close(self) -> None:
        pass


# Breakers that never open, for the tests about other things; breaker tests pass their own.
PATIENT = BreakerSettings(consecutive_failures=1_000_000, min_requests=1_000_000)


class Harness:
    """A gateway built by the composition root, as a library user builds one, over in-memory
    transports (provider p0, p1, ... in the order given), with a manual clock and no sleeping."""

    def __init__(
        self,
        tmp: Path,
        *transports: FakeTransport,
        budget_ratio: float = 0.2,
        breaker: BreakerSettings = PATIENT,
        fallbacks: dict[str, list[str]] | None = None,
        max_attempts: int = 3,
        observers: Sequence[Observer] = (),
        extra: Mapping[str, object] | None = None,
    ) -> None:
        self.clock = ManualClock()
        self.delays: list[float] = []
        fallbacks = {"gpt-5.4-mini": ["gpt-5.4-nano"]} if fallbacks is None else fallbacks
        config = GatewayConfig.model_validate(
            {
                "providers": {
                    f"p{index}": {
                        "kind": "openai-compatible",
                        "base_url": f"http://upstream-{index}/v1",
                        "api_key_env": "UPSTREAM_KEY",
                    }
                    for index in range(len(transports))
                },
                "models": {model: {"fallbacks": to} for model, to in fallbacks.items()},
                "retry": {"max_attempts": max_attempts, "budget_ratio": budget_ratio},
                "breaker": {
                    "consecutive_failures": breaker.consecutive_failures,
                    "failure_rate": breaker.failure_rate,
                    "min_requests": breaker.min_requests,
                    "window_s": breaker.window_s,
                    "open_s": breaker.open_s,
                    "half_open_probes": breaker.half_open_probes,
                },
                "ledger": {"path": str(tmp / "ledger.db")},
                "routing": {"shipped_lanes": False},
                **(extra or {}),
            }
        )
        by_name = {f"p{index}": transport for index, transport in enumerate(transports)}

        async def sleep(seconds: float) -> None:
            self.delays.append(seconds)
            self.clock.advance(seconds)

        self.assembly = Assembly(
            config,
            {"UPSTREAM_KEY": SECRET},
            clock=self.clock,
            rng=random.Random(1),
            sleep=sleep,
            transport=lambda name, _: by_name[name],
            observers=observers,
        )
        self.gateway = self.assembly.gateway

    def call(self, body: bytes = CHAT) -> Response | StreamResponse:
        answer = asyncio.run(self.gateway.handle("chat", body, client=Client("key_test")))
        return to_http(answer)

    def records(self) -> list[LedgerRecord]:
        self.assembly.writer.flush(5)
        return list(self.assembly.ledger.between(None, None))

    def close(self) -> None:
        asyncio.run(self.assembly.close())


def chat_body(usage: object = USAGE, model: str = "gpt-5.4-mini-2026-03-17") -> bytes:
    body: dict[str, object] = {"object": "chat.completion", "model": model, "choices": []}
    if usage is not None:
        body["usage"] = usage
    return orjson.dumps(body)


def chunk_event() -> bytes:
    chunk = {
        "object": "chat.completion.chunk",
        "model": "gpt-5.4-mini",
        "choices": [{"index": 0, "delta": {"content": "Hi"}}],
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


DONE = b"data: [DONE]\n\n"
USAGE_EVENT = b"data: " + orjson.dumps({"choices": [], "usage": USAGE}) + b"\n\n"


def header(answer: Response | StreamResponse, name: str) -> str:
    return dict(answer.headers)[name]


def test_an_answer_without_usage_is_recorded_as_unknown_not_zero(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeTransport(Answer(body=chat_body(usage=None))))
    answer = harness.call()
    (record,) = harness.records()
    harness.close()
    assert header(answer, "x-laneway-cost-usd") == "unknown"
    assert record.status == "ok"
    assert record.usage is None
    assert record.cost_usd is None
    assert record.cost_basis == "no_usage"
    assert record.error == "upstream reported no usage"


def test_a_model_outside_the_catalog_has_an_unknown_cost(tmp_path: Path) -> None:
    body = orjson.dumps({"model": "local-llama", "messages": []})
    harness = Harness(tmp_path, FakeTransport(Answer(body=chat_body(model="local-llama"))))
    harness.call(body)
    (record,) = harness.records()
    harness.close()
    assert record.usage is not None
    assert record.cost_usd is None
    assert record.error is not None
    assert "not in the catalog" in record.error


def test_a_long_retry_after_moves_on_to_the_next_candidate_at_once(tmp_path: Path) -> None:
    busy = Answer(
        status=429, body=b'{"error":{"message":"slow down"}}', headers={"retry-after": "120"}
    )
    first = FakeTransport(busy, busy)
    second = FakeTransport(Answer(body=chat_body()))
    harness = Harness(tmp_path, first, second)
    answer = harness.call()
    (record,) = harness.records()
    harness.close()
    assert harness.delays == []  # never waited two minutes
    assert header(answer, "x-laneway-provider") == "p1"
    assert [(a.provider, a.model, a.status) for a in record.attempts] == [
        ("p0", "gpt-5.4-mini", 429),
        ("p1", "gpt-5.4-mini", 200),
    ]


def test_the_retry_budget_stops_a_retry_storm(tmp_path: Path) -> None:
    down = Answer(status=503, body=b'{"error":{"message":"down"}}')
    transport = FakeTransport(*[down] * 200)
    harness = Harness(tmp_path, transport, budget_ratio=0.0)
    harness.gateway.providers[0].retry_budget = RetryBudget(
        harness.clock, ratio=0.0, floor_per_s=0.0, cap=2
    )
    for _ in range(10):
        with pytest.raises(ApiError):
            harness.call()
    harness.close()
    # 10 requests x (model + fallback model), plus only the 2 retries the budget held.
    assert len(transport.sent) == 10 * 2 + 2


def test_connection_failure_falls_back_and_the_attempt_says_not_sent(tmp_path: Path) -> None:
    refused = Answer(fail=NotSent("ClientConnectorError: refused"))
    harness = Harness(
        tmp_path, FakeTransport(refused, refused, refused), FakeTransport(Answer(body=chat_body()))
    )
    harness.call()
    (record,) = harness.records()
    harness.close()
    assert [a.status for a in record.attempts] == [None, None, None, 200]
    assert record.attempts[0].error == "not sent: ClientConnectorError: refused"
    assert record.cost_basis is None  # never sent, never billed: the cost is exact
    assert len(harness.delays) == 2


def test_fallback_rewrites_only_the_model(tmp_path: Path) -> None:
    missing = Answer(status=404, body=b'{"error":{"message":"no","code":"model_not_found"}}')
    transport = FakeTransport(missing, Answer(body=chat_body(model="gpt-5.4-nano")))
    harness = Harness(tmp_path, transport)
    harness.call()
    harness.close()
    first, second = (orjson.loads(body) for _, _, body in transport.sent)
    assert transport.sent[0][2] == CHAT  # the client's bytes, untouched
    assert second == {**first, "model": "gpt-5.4-nano"}


def test_the_upstream_key_stays_out_of_records_errors_and_reprs(tmp_path: Path) -> None:
    denied = Answer(
        status=401, body=orjson.dumps({"error": {"message": f"Incorrect API key {SECRET[:8]}"}})
    )
    harness = Harness(tmp_path, FakeTransport(denied))
    with pytest.raises(ApiError) as raised:
        harness.call()
    (record,) = harness.records()
    harness.close()
    assert raised.value.status == 401
    assert "$UPSTREAM_KEY" in raised.value.message
    for text in (raised.value.message, repr(record), repr(harness.gateway.providers[0])):
        assert SECRET[:8] not in text


def test_a_stream_that_breaks_after_its_first_event_ends_with_an_error_event(
    tmp_path: Path,
) -> None:
    event = chunk_event()
    broken = Answer(chunks=[event, BodyBroken("ClientPayloadError: cut")])
    harness = Harness(tmp_path, FakeTransport(broken))
    body = orjson.dumps({**orjson.loads(CHAT), "stream": True})

    async def drain() -> list[bytes]:
        answer = await harness.gateway.handle("chat", body, client=Client("key_test"))
        assert answer.stream is not None
        return [chunk async for chunk in answer.stream]

    chunks = asyncio.run(drain())
    (record,) = harness.records()
    harness.close()
    assert chunks[0] == event
    error = orjson.loads(chunks[-1].removeprefix(b"data: "))["error"]
    assert error["code"] == "upstream_stream_broken"
    assert record.status == "broken"
    # Settled at an estimate: "user: hi" counted (4 tokens), and the one token relayed ("Hi").
    assert record.usage == Usage(input_tokens=4, output_tokens=1)
    assert record.cost_basis == "estimated"
    assert record.cost_usd is not None
    assert record.cost_usd > 0


def test_a_client_leaving_mid_stream_settles_the_record(tmp_path: Path) -> None:
    event = chunk_event()
    harness = Harness(tmp_path, FakeTransport(Answer(chunks=[event, event, event])))
    body = orjson.dumps({**orjson.loads(CHAT), "stream": True})

    async def leave_early() -> None:
        answer = await harness.gateway.handle("chat", body, client=Client("key_test"))
        chunks = answer.stream
        assert chunks is not None
        await anext(chunks)
        await chunks.aclose()  # type: ignore[attr-defined]  # what the server does on disconnect

    asyncio.run(leave_early())
    (record,) = harness.records()
    harness.close()
    assert record.status == "broken"
    assert record.error is not None
    assert "client closed" in record.error


def stream_through(harness: Harness) -> list[bytes]:
    body = orjson.dumps({**orjson.loads(CHAT), "stream": True})

    async def drain() -> list[bytes]:
        answer = await harness.gateway.handle("chat", body, client=Client("key_test"))
        assert answer.stream is not None
        return [chunk async for chunk in answer.stream]

    return asyncio.run(drain())


def test_a_stream_ending_early_drops_its_half_event_and_says_so(tmp_path: Path) -> None:
    event = chunk_event()
    harness = Harness(tmp_path, FakeTransport(Answer(chunks=[event, event[:20]])))
    chunks = stream_through(harness)
    (record,) = harness.records()
    harness.close()
    assert chunks[0] == event
    assert len(chunks) == 2  # the half event never reached the client
    assert orjson.loads(chunks[1].removeprefix(b"data: "))["error"]["code"] == (
        "upstream_stream_broken"
    )
    assert record.status == "broken"


def test_an_error_the_upstream_streams_itself_is_relayed_once_and_recorded(
    tmp_path: Path,
) -> None:
    failure = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    harness = Harness(tmp_path, FakeTransport(Answer(chunks=[chunk_event(), failure])))
    chunks = stream_through(harness)
    (record,) = harness.records()
    harness.close()
    assert chunks == [chunk_event(), failure]  # no second error event from laneway
    assert record.status == "error"
    assert record.error is not None
    assert "overloaded" in record.error


def test_a_circuit_opens_fails_fast_half_opens_with_a_probe_and_closes(tmp_path: Path) -> None:
    down = Answer(status=503, body=b'{"error":{"message":"down"}}')
    up = Answer(body=chat_body())
    transport = FakeTransport(down, down, up, up)
    settings = BreakerSettings(consecutive_failures=2, open_s=30.0)
    # One candidate, one try: an open circuit leaves nothing to send to.
    harness = Harness(tmp_path, transport, breaker=settings, fallbacks={}, max_attempts=1)
    for _ in range(2):
        with pytest.raises(ApiError) as failed:
            harness.call()
        assert failed.value.status == 503
    # Open: refused at once, nothing sent.
    with pytest.raises(ApiError) as fast:
        harness.call()
    assert fast.value.code == "model_unavailable"
    assert len(transport.sent) == 2
    harness.clock.advance(29.9)
    with pytest.raises(ApiError):
        harness.call()
    assert len(transport.sent) == 2
    # Half-open after open_s: one probe goes through, succeeds, and closes the circuit.
    harness.clock.advance(0.1)
    assert harness.assembly.health.breakers.state("p0", "gpt-5.4-mini") == "half-open"
    assert header(harness.call(), "x-laneway-route") == "model -> gpt-5.4-mini@p0"
    assert harness.assembly.health.breakers.state("p0", "gpt-5.4-mini") == "closed"
    harness.call()
    harness.close()
    assert len(transport.sent) == 4


@pytest.mark.parametrize(
    "lost",
    [
        Answer(fail=NoAnswer("timed out waiting for the head", timed_out=True)),
        Answer(chunks=[BodyBroken("ClientPayloadError: cut")]),  # cut before its first event
    ],
    ids=["hung", "cut before the first event"],
)
def test_an_attempt_given_up_after_it_was_sent_marks_the_cost_abandoned(
    tmp_path: Path, lost: Answer
) -> None:
    answered = Answer(chunks=[chunk_event(), USAGE_EVENT, DONE])
    harness = Harness(tmp_path, FakeTransport(lost, answered))
    stream_through(harness)
    (record,) = harness.records()
    harness.close()
    assert [a.status for a in record.attempts][-1] == 200
    assert record.status == "ok"
    assert record.usage == Usage(input_tokens=10, output_tokens=5)
    # The answer's own cost is exact; the attempt given up may have been billed too.
    assert record.cost_basis == "abandoned"


def test_a_client_leaving_during_an_attempt_marks_the_cost_abandoned(tmp_path: Path) -> None:
    class Hanging(FakeTransport):
        async def send(self, *sent: object, **options: object) -> FakeResponse:
            await asyncio.Event().wait()  # sent, never answered
            raise AssertionError

    harness = Harness(tmp_path, Hanging())

    async def leave() -> None:
        call = asyncio.ensure_future(harness.gateway.handle("chat", CHAT))
        await asyncio.sleep(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(leave())
    (record,) = harness.records()
    harness.close()
    assert (record.status, record.http_status) == ("error", 499)
    assert record.cost_basis == "abandoned"


def test_a_stored_responses_call_relays_the_upstreams_error_without_the_providers_key(
    tmp_path: Path,
) -> None:
    created = orjson.dumps({"id": "resp_1", "object": "response", "status": "completed"})
    echo = orjson.dumps({"error": {"message": f"Incorrect API key provided: {SECRET}"}})
    harness = Harness(tmp_path, FakeTransport(Answer(body=created), Answer(401, echo)))
    client = Client("key_test")
    body = orjson.dumps({"model": "gpt-5.4-mini", "input": "hi"})

    async def create_then_retrieve() -> Response:
        await harness.gateway.handle("responses", body, client=client)
        calls = harness.gateway.response_calls
        assert calls is not None
        return await calls.call(client, b"GET", "resp_1", "", "")

    answer = asyncio.run(create_then_retrieve())
    assert answer.status == 401
    assert SECRET.encode() not in answer.body
    assert REDACTED.encode() in answer.body
    harness.close()
