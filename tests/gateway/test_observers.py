"""The observer seam: every hook in order, annotations reaching the ledger and the answer, bodies
only for observers that ask, a failing observer never failing a request, shadows observed too."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson
import pytest

from laneway.gateway.client import Client
from laneway.gateway.observers import Bodies, Exchange, Observer
from laneway.ledger.record import Attempt
from laneway.upstream.providers import Candidate
from laneway.wire.errors import ApiError
from tests.gateway.test_core_in_memory import (
    CHAT,
    Answer,
    FakeTransport,
    Harness,
    chat_body,
    chunk_event,
    header,
)

DOWN = Answer(status=503, body=b'{"error":{"message":"down"}}')


class Recorder(Observer):
    """Notes every hook, and what the record says at settlement."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.bodies: list[Bodies | None] = []

    def request_started(self, exchange: Exchange) -> None:
        self.events.append(("started", exchange.record.id, exchange.record.status))

    def attempt_started(self, exchange: Exchange, target: Candidate) -> None:
        self.events.append(("attempt", target.label))

    def attempt_ended(self, exchange: Exchange, attempt: Attempt) -> None:
        self.events.append(("ended", attempt.provider, str(attempt.status)))

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        record = exchange.record
        self.events.append(("settled", record.status, str(record.cost_usd is not None)))
        self.bodies.append(bodies)


class BodyReader(Recorder):
    wants_bodies = True


class Tracer(Observer):
    """Gives each request a trace id, as a telemetry observer would."""

    def request_started(self, exchange: Exchange) -> None:
        exchange.annotate("trace-id", "t-" + exchange.record.id)


class Broken(Observer):
    def request_started(self, exchange: Exchange) -> None:
        raise RuntimeError("observer bug")

    def attempt_ended(self, exchange: Exchange, attempt: Attempt) -> None:
        raise RuntimeError("observer bug")

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        raise RuntimeError("observer bug")


def test_every_hook_is_told_in_order_with_the_record_complete_at_settlement(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    transport = FakeTransport(DOWN, Answer(body=chat_body()))
    harness = Harness(tmp_path, transport, observers=[recorder])
    answer = harness.call()
    (record,) = harness.records()
    harness.close()
    assert recorder.events == [
        ("started", record.id, "reserved"),
        ("attempt", "gpt-5.4-mini@p0"),
        ("ended", "p0", "503"),
        ("attempt", "gpt-5.4-mini@p0"),
        ("ended", "p0", "200"),
        ("settled", "ok", "True"),
    ]
    assert recorder.bodies == [None]  # it did not ask for them
    assert header(answer, "x-laneway-request-id") == record.id


def test_a_failed_request_is_settled_and_its_error_names_its_record(tmp_path: Path) -> None:
    recorder = Recorder()
    harness = Harness(tmp_path, FakeTransport(*[DOWN] * 6), observers=[recorder])
    with pytest.raises(ApiError) as raised:
        harness.call()
    (record,) = harness.records()
    harness.close()
    assert recorder.events[-1] == ("settled", "error", "False")
    assert raised.value.meta is not None
    assert raised.value.meta.record_id == record.id  # type: ignore[attr-defined]


def test_an_annotation_is_stored_with_the_record_and_sent_as_a_header(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeTransport(Answer(body=chat_body())), observers=[Tracer()])
    answer = harness.call()
    (record,) = harness.records()
    harness.close()
    assert record.annotations == {"trace-id": f"t-{record.id}"}
    assert header(answer, "x-laneway-trace-id") == f"t-{record.id}"


@pytest.mark.parametrize(
    ("name", "value"), [("Trace_ID", "x"), ("", "x"), ("trace", "line\nbreak"), ("t", "é")]
)
def test_an_annotation_that_could_not_be_a_header_is_refused(name: str, value: str) -> None:
    record_like = Exchange.__new__(Exchange)
    with pytest.raises(ValueError, match="annotation"):
        Exchange.annotate(record_like, name, value)


def test_bodies_go_only_to_observers_that_ask_whole_and_streamed(tmp_path: Path) -> None:
    reader, other = BodyReader(), Recorder()
    event = chunk_event()
    transport = FakeTransport(Answer(body=chat_body()), Answer(chunks=[event, event]))
    harness = Harness(tmp_path, transport, observers=[reader, other])
    harness.call()
    stream = orjson.dumps({**orjson.loads(CHAT), "stream": True})

    async def drain() -> bytes:
        answer = await harness.gateway.handle("chat", stream, client=Client("key_test"))
        assert answer.stream is not None
        return b"".join([chunk async for chunk in answer.stream])

    relayed = asyncio.run(drain())
    harness.close()
    assert other.bodies == [None, None]
    whole, streamed = reader.bodies
    assert whole == Bodies(CHAT, chat_body())
    assert streamed is not None
    assert streamed.request == stream
    assert streamed.answer == relayed  # what the client got, byte for byte


def test_a_stream_is_not_gathered_when_no_observer_wants_bodies(tmp_path: Path) -> None:
    seen: list[list[bytes] | None] = []

    class Peek(Observer):
        def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
            seen.append(exchange.chunks)

    event = chunk_event()
    harness = Harness(tmp_path, FakeTransport(Answer(chunks=[event])), observers=[Peek()])
    stream = orjson.dumps({**orjson.loads(CHAT), "stream": True})

    async def drain() -> None:
        answer = await harness.gateway.handle("chat", stream, client=Client("key_test"))
        assert answer.stream is not None
        async for _ in answer.stream:
            pass

    asyncio.run(drain())
    harness.close()
    assert seen == [None]


def test_a_failing_observer_is_counted_and_logged_once_and_never_fails_a_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    transport = FakeTransport(*[Answer(body=chat_body())] * 3)
    harness = Harness(tmp_path, transport, observers=[Broken(), recorder])
    with caplog.at_level(logging.ERROR, logger="laneway.gateway.observers"):
        answers = [harness.call() for _ in range(3)]
    records = harness.records()
    failures = dict(harness.gateway.observers.failures)
    harness.close()
    assert [answer.status for answer in answers] == [200, 200, 200]
    assert [r.status for r in records] == ["ok", "ok", "ok"]
    # The observers after the broken one were still told.
    assert [e[0] for e in recorder.events].count("settled") == 3
    assert failures == {
        "Broken.request_started": 3,
        "Broken.attempt_ended": 3,
        "Broken.settled": 3,
    }
    logged = [r for r in caplog.records if "observer Broken" in r.getMessage()]
    assert len(logged) == 3  # the first failure of each hook, with its traceback
    assert all(r.exc_info is not None for r in logged)


def test_a_hook_left_as_the_no_op_is_never_called(tmp_path: Path) -> None:
    class OnlySettled(Observer):
        def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
            pass

    harness = Harness(tmp_path, FakeTransport(Answer(body=chat_body())), observers=[OnlySettled()])
    observers = harness.gateway.observers
    harness.close()
    assert not observers.watch_attempts
    assert observers._started == []


def test_a_shadow_copy_is_observed_as_its_own_settled_record(tmp_path: Path) -> None:
    recorder = Recorder()
    transport = FakeTransport(*[Answer(body=chat_body())] * 2)
    lanes = {
        "l": {
            "candidates": ["gpt-5.4-mini"],
            "shadow": {"model": "gpt-5.4-nano", "share": 1.0},
        }
    }
    harness = Harness(tmp_path, transport, observers=[recorder], extra={"lanes": lanes})
    body = orjson.dumps({**orjson.loads(CHAT), "model": "lane:l"})

    async def call_and_drain() -> None:
        await harness.gateway.handle("chat", body, client=Client("key_test"))
        await harness.gateway.shadows.drain()

    asyncio.run(call_and_drain())
    records = harness.records()
    harness.close()
    settled = [e for e in recorder.events if e[0] == "settled"]
    assert len(settled) == 2
    shadow = next(r for r in records if r.shadow)
    primary = next(r for r in records if not r.shadow)
    assert shadow.pair_id == primary.id == primary.pair_id
    started = [e[1] for e in recorder.events if e[0] == "started"]
    assert sorted(started) == sorted([primary.id, shadow.id])


class EveryOther(Recorder):
    """Follows every second request it sees start, as a sampling observer would."""

    follows_per_exchange = True

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__()
        self.seen = 0
        self.fail = fail

    def request_started(self, exchange: Exchange) -> None:
        super().request_started(exchange)
        self.seen += 1
        if self.seen % 2 == 0:
            exchange.follow(self)

    def attempt_ended(self, exchange: Exchange, attempt: Attempt) -> None:
        super().attempt_ended(exchange, attempt)
        if self.fail:
            raise RuntimeError("observer bug")


def test_a_following_observer_is_told_only_of_the_exchanges_it_follows(tmp_path: Path) -> None:
    follower, everyone = EveryOther(), Recorder()
    # The second request is retried once: its two attempts reach the follower, in order.
    transport = FakeTransport(Answer(body=chat_body()), DOWN, *[Answer(body=chat_body())] * 2)
    harness = Harness(tmp_path, transport, observers=[follower, everyone])
    for _ in range(3):
        harness.call()
    first, second, third = (r.id for r in harness.records())
    observers = harness.gateway.observers
    harness.close()
    assert follower.events == [
        ("started", first, "reserved"),
        ("started", second, "reserved"),
        ("attempt", "gpt-5.4-mini@p0"),
        ("ended", "p0", "503"),
        ("attempt", "gpt-5.4-mini@p0"),
        ("ended", "p0", "200"),
        ("settled", "ok", "True"),
        ("started", third, "reserved"),
    ]
    assert [e[0] for e in everyone.events].count("settled") == 3
    assert follower.bodies == [None]  # it did not ask for them
    assert observers.watch_settled  # the follower's settled hook may be due


def test_attempts_reach_a_follower_when_no_observer_watches_every_attempt(
    tmp_path: Path,
) -> None:
    follower = EveryOther()
    transport = FakeTransport(*[Answer(body=chat_body())] * 2)
    harness = Harness(tmp_path, transport, observers=[follower])
    harness.call()
    harness.call()
    observers = harness.gateway.observers
    harness.close()
    assert not observers.watch_attempts  # nobody wants every attempt: the first is told none
    assert [e[0] for e in follower.events] == ["started", "started", "attempt", "ended", "settled"]


def test_a_failing_follower_is_counted_and_never_fails_the_request(tmp_path: Path) -> None:
    follower, everyone = EveryOther(fail=True), Recorder()
    transport = FakeTransport(*[Answer(body=chat_body())] * 2)
    harness = Harness(tmp_path, transport, observers=[follower, everyone])
    answers = [harness.call() for _ in range(2)]
    failures = dict(harness.gateway.observers.failures)
    harness.close()
    assert [answer.status for answer in answers] == [200, 200]
    assert failures == {"EveryOther.attempt_ended": 1}
    assert [e[0] for e in follower.events].count("settled") == 1


def test_a_follower_that_wants_bodies_gets_those_of_the_exchanges_it_follows(
    tmp_path: Path,
) -> None:
    class Reader(EveryOther):
        wants_bodies = True  # every exchange's, not only some: gathered for all

    follower = Reader()
    transport = FakeTransport(*[Answer(body=chat_body())] * 2)
    harness = Harness(tmp_path, transport, observers=[follower])
    harness.call()
    harness.call()
    harness.close()
    assert follower.bodies == [Bodies(CHAT, chat_body())]  # the second, followed, only
