"""Capture's sampling in-process (the composition root's gateway over in-memory upstreams, a
manual clock, a seeded generator): the share drawn from the gateway's generator, the day's cap
and its reset at midnight UTC, bodies gathered only for sampled requests, and no observer at all
when capture is off."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from laneway.capture.observer import CaptureObserver
from laneway.gateway.observers import Bodies, Exchange, Observer
from laneway.ledger.captures import CaptureRow
from tests.gateway.test_core_in_memory import CHAT, Answer, FakeTransport, Harness, chat_body

DAY_S = 86_400


def harness(
    tmp_path: Path, calls: int, observers: list[Observer] | None = None, **capture: Any
) -> Harness:
    transport = FakeTransport(*[Answer(body=chat_body())] * calls)
    extra = {"capture": {"lanes": ["*"], **capture}} if capture else None
    return Harness(tmp_path, transport, observers=observers or [], extra=extra)


def body(number: int) -> bytes:
    message = {"role": "user", "content": f"question {number}"}
    return orjson.dumps({**orjson.loads(CHAT), "messages": [message]})


def captured(harness: Harness) -> list[CaptureRow]:
    capture = harness.assembly.capture
    assert capture is not None
    capture.writer.flush()
    store = harness.assembly.open_captures()
    try:
        return list(store.rows(None, None, None))
    finally:
        store.close()


def asked(rows: list[CaptureRow]) -> list[str]:
    return [orjson.loads(row.request)["messages"][0]["content"] for row in rows]


def test_the_share_is_drawn_from_the_gateways_seeded_generator(tmp_path: Path) -> None:
    chosen = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        gateway = harness(tmp_path / run, 40, share=0.5, per_day=1000)
        for number in range(40):
            gateway.call(body(number))
        chosen.append(asked(captured(gateway)))
        gateway.close()
    # The harness seeds the gateway's generator with 1; capture is its only user here.
    draw = random.Random(1)
    expected = [f"question {n}" for n in range(40) if draw.random() < 0.5]
    assert chosen[0] == chosen[1] == expected
    assert 10 < len(expected) < 30


def test_the_day_cap_holds_and_a_new_utc_day_starts_afresh(tmp_path: Path) -> None:
    gateway = harness(tmp_path, 8, share=1.0, per_day=3)
    for number in range(5):
        gateway.call(body(number))
    assert asked(captured(gateway)) == [f"question {n}" for n in range(3)]
    gateway.clock.advance(DAY_S)
    for number in range(5, 8):
        gateway.call(body(number))
    rows = captured(gateway)
    gateway.close()
    assert asked(rows) == [f"question {n}" for n in (0, 1, 2, 5, 6, 7)]
    assert len({int(row.created_at // DAY_S) for row in rows}) == 2


def test_capture_off_registers_no_observer_and_gathers_no_bodies(tmp_path: Path) -> None:
    gateway = harness(tmp_path, 1)
    assert gateway.assembly.capture is None
    observers = gateway.gateway.observers
    assert not any(isinstance(o, CaptureObserver) for o in observers.observers)
    assert not observers.want_bodies
    assert not observers.watch_starts
    gateway.close()


class EveryOther(Observer):
    """Wants the bodies of every other exchange only, as a sampler does."""

    wants_bodies = True
    bodies_per_exchange = True

    def __init__(self) -> None:
        self.seen = 0
        self.bodies: list[Bodies | None] = []
        self.chunks: list[object] = []

    def request_started(self, exchange: Exchange) -> None:
        if self.seen % 2 == 0:
            exchange.want_bodies()
        self.seen += 1

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        self.bodies.append(bodies)
        self.chunks.append(exchange.chunks)


def test_bodies_are_gathered_only_for_the_exchanges_an_observer_asks_for(tmp_path: Path) -> None:
    sampler = EveryOther()
    gateway = harness(tmp_path, 4, observers=[sampler])
    assert not gateway.gateway.observers.want_bodies
    for _ in range(4):
        gateway.call()
    gateway.close()
    assert [b is not None for b in sampler.bodies] == [True, False, True, False]
    assert sampler.bodies[0] == Bodies(CHAT, chat_body())
    assert [c is not None for c in sampler.chunks] == [True, False, True, False]


def test_a_lane_not_captured_is_not_sampled(tmp_path: Path) -> None:
    transport = FakeTransport(*[Answer(body=chat_body())] * 2)
    extra = {
        "lanes": {"support": {"candidates": ["gpt-5.4-mini"]}},
        "capture": {"lanes": ["support"], "share": 1.0},
    }
    gateway = Harness(tmp_path, transport, extra=extra)
    gateway.call(body(1))  # a plain model id: outside the lane
    gateway.call(orjson.dumps({**orjson.loads(body(2)), "model": "lane:support"}))
    rows = captured(gateway)
    gateway.close()
    assert asked(rows) == ["question 2"]
    assert rows[0].lane == "support"
    assert rows[0].requested_model == "lane:support"
    assert rows[0].answering_model == "gpt-5.4-mini"


def test_the_request_path_only_queues(tmp_path: Path) -> None:
    """The row is made on the writer's thread: the observer hands over bytes it was given."""
    gateway = harness(tmp_path, 1, share=1.0)
    gateway.call(body(1))
    (row,) = captured(gateway)
    gateway.close()
    assert orjson.loads(row.answer) == {"text": "", "tool_calls": []}
    assert row.endpoint == "chat"
