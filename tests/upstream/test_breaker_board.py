"""Breakers shared between replicas through the test Redis (a namespace of each test's own):
opens and closes travel, stale and own events do not, and an unreachable Redis leaves each
replica on its own without an error. Clocks are manual; the sync loop is stepped by hand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
import uvloop

from laneway.clock import ManualClock
from laneway.quota.redis_pipeline import redis_client
from laneway.upstream.breaker import BreakerKey, Breakers, BreakerSettings, Ticket
from laneway.upstream.breaker_board import BreakerBoard
from tests.services import REDIS_URL
from tests.upstream.test_breaker_remote import BootClock

KEY = ("openai", "gpt-5.2")
OTHER = ("azure", "gpt-5.2")
EPS = 2**-10
# Nothing listens on port 1. The password must never appear in logs.
UNREACHABLE_URL = "redis://:hunter2-pass@127.0.0.1:1/0"
SETTINGS = BreakerSettings(consecutive_failures=3, open_s=30.0)


@dataclass
class Replica:
    breakers: Breakers
    board: BreakerBoard

    def trip(self, key: BreakerKey = KEY) -> None:
        for _ in range(SETTINGS.consecutive_failures):
            self.breakers.record(self.admit(key), False)
        assert self.breakers.state(*key) == "open"

    def admit(self, key: BreakerKey = KEY) -> Ticket:
        ticket = self.breakers.admit(*key)
        assert ticket is not None, f"{key} refused an attempt"
        return ticket


def factory(url: str = REDIS_URL) -> Callable[[], aioredis.Redis]:
    return lambda: redis_client(url, 5.0)


def replica(
    namespace: str,
    clock: ManualClock,
    boot_s: float,
    make_client: Callable[[], aioredis.Redis] | None = None,
    *,
    sync_s: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Replica:
    # Each replica's monotonic clock counts from its own boot; only Unix time is shared.
    replica_clock = BootClock(clock, boot_s)
    breakers = Breakers(replica_clock, SETTINGS)
    board = BreakerBoard(
        make_client or factory(),
        namespace,
        breakers,
        replica_clock,
        sync_s=sync_s,
        timeout_s=5.0,
        sleep=sleep,
    )
    return Replica(breakers, board)


@contextlib.asynccontextmanager
async def pair(namespace: str, clock: ManualClock) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas sharing `namespace`, booted at different times; closed after."""
    a = replica(namespace, clock, 1_700_000_000.0)
    b = replica(namespace, clock, 1_600_000_000.0)
    try:
        yield a, b
    finally:
        await a.board.close()
        await b.board.close()


def run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    uvloop.run(body())


@pytest.fixture
def raw() -> Iterator[redis.Redis]:
    """A plain client on the test Redis, to look at and plant hash entries."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    client.close()


def field(key: BreakerKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))  # as the board writes it


def entry(raw: redis.Redis, namespace: str, key: BreakerKey) -> dict[str, object]:
    value = raw.hget(f"{namespace}:breakers", field(key))
    assert isinstance(value, str), f"no entry for {key}"
    parsed: dict[str, object] = json.loads(value)
    return parsed


def plant(raw: redis.Redis, namespace: str, key: BreakerKey, **event: object) -> None:
    """An entry as another replica (or an old write) would leave it, bypassing the script."""
    raw.hset(f"{namespace}:breakers", field(key), json.dumps(event))


def test_an_open_on_one_replica_opens_the_others(redis_namespace: str, raw: redis.Redis) -> None:
    clock = ManualClock()
    start = clock.time()

    async def main() -> None:
        async with pair(redis_namespace, clock) as (a, b):
            await b.board.sync_once()
            a.trip()
            await a.board.flush()
            assert entry(raw, redis_namespace, KEY) == {
                "state": "open",
                "until": start + 30.0,
                "stamp": start,
                "origin": a.board.origin,
            }
            assert b.breakers.available(*KEY)  # not yet synced
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "open"
            assert not b.breakers.available(*KEY)
            assert b.breakers.admit(*KEY) is None
            assert b.breakers.state(*OTHER) == "closed"
            clock.advance(30.0 - EPS)
            await b.board.sync_once()  # the same event again: nothing new
            assert b.breakers.admit(*KEY) is None
            clock.advance(EPS)
            assert b.admit().probe  # each replica probes for itself

    run(main)


def test_a_probe_success_closes_the_others(redis_namespace: str) -> None:
    clock = ManualClock()

    async def main() -> None:
        async with pair(redis_namespace, clock) as (a, b):
            a.trip()
            await a.board.flush()
            await b.board.sync_once()
            clock.advance(30.0)
            b_probe = b.admit()
            a.breakers.record(a.admit(), True)
            assert a.breakers.state(*KEY) == "closed"
            await a.board.sync_once()
            assert b.breakers.state(*KEY) == "half-open"
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "closed"
            assert not b.admit().probe
            b.breakers.record(b_probe, False)  # a probe of the period the close ended
            assert b.breakers.state(*KEY) == "closed"
            assert b.breakers.snapshot()[KEY].consecutive_failures == 0

    run(main)


def test_a_probe_failure_reopens_the_others(redis_namespace: str) -> None:
    clock = ManualClock()

    async def main() -> None:
        async with pair(redis_namespace, clock) as (a, b):
            a.trip()
            await a.board.flush()
            await b.board.sync_once()
            clock.advance(30.0)
            b_probe = b.admit()
            clock.advance(2.0)
            a.breakers.record(a.admit(), False)  # reopened for 30 s from now
            await a.board.flush()
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "open"
            b.breakers.record(b_probe, True)  # its period is over: must not close
            assert b.breakers.state(*KEY) == "open"
            assert b.breakers.snapshot()[KEY].half_open_in_s == 30.0

    run(main)


def test_own_events_are_not_applied(redis_namespace: str, raw: redis.Redis) -> None:
    clock = ManualClock()

    async def main() -> None:
        a = replica(redis_namespace, clock, 1_700_000_000.0)
        try:
            await a.board.sync_once()
            plant(
                raw,
                redis_namespace,
                KEY,
                state="open",
                until=clock.time() + 30.0,
                stamp=clock.time(),
                origin=a.board.origin,
            )
            await a.board.sync_once()
            assert a.breakers.state(*KEY) == "closed"
        finally:
            await a.board.close()

    run(main)


def test_events_older_than_the_last_known_are_ignored(
    redis_namespace: str, raw: redis.Redis
) -> None:
    clock = ManualClock()
    start = clock.time()

    async def main() -> None:
        b = replica(redis_namespace, clock, 1_600_000_000.0)
        try:
            plant(
                raw, redis_namespace, KEY, state="open", until=start + 30, stamp=start, origin="x"
            )
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "open"
            # A late write, older than the open already applied, says closed: ignored.
            plant(
                raw, redis_namespace, KEY, state="closed", until=None, stamp=start - 1, origin="y"
            )
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "open"
            # A replica's own event is newer than any it has seen: B's open after B's own close
            # wins over another replica's close stamped between them.
            clock.advance(30.0)
            b.breakers.record(b.admit(), True)
            b.trip()
            await b.board.flush()
            plant(raw, redis_namespace, KEY, state="closed", until=None, stamp=start, origin="z")
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "open"
        finally:
            await b.board.close()

    run(main)


def test_the_newest_stamp_wins_in_the_hash(redis_namespace: str, raw: redis.Redis) -> None:
    clock = ManualClock()
    start = clock.time()

    async def main() -> None:
        b = replica(redis_namespace, clock, 1_600_000_000.0)
        try:
            plant(
                raw,
                redis_namespace,
                KEY,
                state="open",
                until=start + 99,
                stamp=start + 5,
                origin="x",
            )
            b.trip()  # stamped `start`: older than what the hash holds (clocks disagree)
            await b.board.flush()
            assert entry(raw, redis_namespace, KEY)["origin"] == "x"
            clock.advance(10.0)
            b.trip(OTHER)
            b.breakers.apply_remote(KEY, "closed", None)  # not heard, so not written
            await b.board.flush()
            assert entry(raw, redis_namespace, OTHER)["origin"] == b.board.origin
            await b.board.sync_once()  # x's open is newer than B's own: B takes it
            assert b.breakers.snapshot()[KEY].half_open_in_s == 89.0
        finally:
            await b.board.close()

    run(main)


def test_an_open_period_already_over_does_not_reopen(redis_namespace: str) -> None:
    clock = ManualClock()

    async def main() -> None:
        async with pair(redis_namespace, clock) as (a, b):
            a.trip()
            await a.board.flush()
            clock.advance(30.0)
            sent = b.admit()
            await b.board.sync_once()  # B first hears of it now, when it is over
            assert b.breakers.state(*KEY) == "closed"
            assert not b.admit().probe
            b.breakers.record(sent, False)  # no period change: it still counts
            assert b.breakers.snapshot()[KEY].consecutive_failures == 1

    run(main)


def test_malformed_entries_are_skipped(redis_namespace: str, raw: redis.Redis) -> None:
    clock = ManualClock()
    hash_key = f"{redis_namespace}:breakers"
    raw.hset(hash_key, "not json", "{}")
    raw.hset(hash_key, field(OTHER), "not json")
    raw.hset(hash_key, json.dumps(["a", "b", "c"]), json.dumps({"state": "closed"}))
    plant(
        raw, redis_namespace, ("p", "m"), state="open", until=None, stamp=clock.time(), origin="x"
    )
    plant(raw, redis_namespace, ("p", "n"), state="half-open", stamp=clock.time(), origin="x")
    plant(raw, redis_namespace, KEY, state="open", until=clock.time() + 30, stamp=1, origin="x")

    async def main() -> None:
        b = replica(redis_namespace, clock, 1_600_000_000.0)
        try:
            await b.board.sync_once()
            assert list(b.breakers.snapshot()) == [KEY]  # only the well-formed one
        finally:
            await b.board.close()

    run(main)


def test_an_unreachable_redis_leaves_each_replica_on_its_own(
    redis_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    url = [UNREACHABLE_URL]

    async def main() -> None:
        a = replica(redis_namespace, clock, 1_700_000_000.0, lambda: redis_client(url[0], 5.0))
        b = replica(redis_namespace, clock, 1_600_000_000.0)
        try:
            with caplog.at_level(logging.INFO, logger="laneway.upstream"):
                await a.board.sync_once()
                a.trip()  # the write fails in the background
                await a.board.flush()
                await a.board.sync_once()
                assert a.board.down
                assert a.breakers.admit(*KEY) is None  # the local breaker works as ever
                clock.advance(30.0)
                a.breakers.record(a.admit(), False)
                assert a.breakers.state(*KEY) == "open"
                messages = [record.getMessage() for record in caplog.records]
                assert messages == ["breaker board: Redis unreachable (ConnectionError)"]
                url[0] = REDIS_URL  # the store is back (say, after a failover)
                await a.board.sync_once()  # writes what it could not
                assert not a.board.down
                await b.board.sync_once()
                assert b.breakers.state(*KEY) == "open"
                assert b.breakers.snapshot()[KEY].half_open_in_s == 30.0  # the latest open
            messages = [record.getMessage() for record in caplog.records]
            assert messages == [
                "breaker board: Redis unreachable (ConnectionError)",
                "breaker board: Redis reachable again",
            ]
            assert "hunter2" not in caplog.text
        finally:
            await a.board.close()
            await b.board.close()

    run(main)


def test_close_writes_what_is_pending_and_then_stops(redis_namespace: str) -> None:
    clock = ManualClock()

    async def main() -> None:
        a = replica(redis_namespace, clock, 1_700_000_000.0)
        b = replica(redis_namespace, clock, 1_600_000_000.0)
        try:
            a.trip()
            await a.board.close()
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "open"
            clock.advance(30.0)
            a.breakers.record(a.admit(), False)  # reopens; closed board: not shared, no error
            a.trip(OTHER)
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "half-open"  # the first open arrived, not the next
            assert b.breakers.state(*OTHER) == "closed"
        finally:
            await a.board.close()
            await b.board.close()

    run(main)


def test_a_close_on_an_unreachable_redis_gives_up_within_its_timeout(
    redis_namespace: str,
) -> None:
    clock = ManualClock()

    async def main() -> None:
        replica_clock = BootClock(clock, 1_700_000_000.0)
        breakers = Breakers(replica_clock, SETTINGS)
        board = BreakerBoard(
            lambda: redis_client(UNREACHABLE_URL, 5.0),
            redis_namespace,
            breakers,
            replica_clock,
            timeout_s=0.2,
        )
        Replica(breakers, board).trip()
        async with asyncio.timeout(2.0):
            await board.close()

    run(main)


def test_a_transition_with_no_loop_running_is_written_at_the_next_sync(
    redis_namespace: str,
) -> None:
    clock = ManualClock()
    a = replica(redis_namespace, clock, 1_700_000_000.0)
    a.trip()  # no event loop yet: the board keeps it

    async def main() -> None:
        b = replica(redis_namespace, clock, 1_600_000_000.0)
        try:
            await a.board.sync_once()
            await b.board.sync_once()
            assert b.breakers.state(*KEY) == "open"
        finally:
            await a.board.close()
            await b.board.close()

    run(main)


class SteppedSleep:
    """A sleep that ends only when the test calls `step`; `step` returns once the loop has
    synced and gone back to sleep."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._wake = asyncio.Event()
        self._asleep = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        self._asleep.set()
        await self._wake.wait()
        self._wake.clear()

    async def step(self) -> None:
        async with asyncio.timeout(5.0):
            await self._asleep.wait()
            self._asleep.clear()
            self._wake.set()
            await self._asleep.wait()


def test_start_syncs_at_once_and_then_every_sync_s(redis_namespace: str) -> None:
    clock = ManualClock()

    async def main() -> None:
        sleep = SteppedSleep()
        a = replica(redis_namespace, clock, 1_700_000_000.0)
        b = replica(redis_namespace, clock, 1_600_000_000.0, sync_s=0.25, sleep=sleep)
        try:
            a.trip()
            await a.board.flush()
            await b.board.start()
            assert b.breakers.state(*KEY) == "open"  # learnt at start, before any sleep
            clock.advance(30.0)
            a.breakers.record(a.admit(), True)
            await a.board.flush()
            assert b.breakers.state(*KEY) == "half-open"
            await sleep.step()
            assert b.breakers.state(*KEY) == "closed"
            assert sleep.asked == [0.25, 0.25]
        finally:
            await a.board.close()
            await b.board.close()
        assert sleep.asked == [0.25, 0.25]  # the loop is gone

    run(main)


def test_settings_are_checked() -> None:
    breakers = Breakers(ManualClock())
    with pytest.raises(ValueError, match="sync_s"):
        BreakerBoard(factory(), "ns", breakers, ManualClock(), sync_s=0.0)
    with pytest.raises(ValueError, match="timeout_s"):
        BreakerBoard(factory(), "ns", breakers, ManualClock(), timeout_s=float("nan"))
