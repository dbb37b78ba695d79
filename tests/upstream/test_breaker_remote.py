"""What replicas share of a breaker: `listen` hears local opens and closes, `apply_remote`
takes another replica's; on a manual clock whose monotonic seconds are far from Unix time."""

from __future__ import annotations

from typing import Any

import pytest

from laneway.clock import ManualClock
from laneway.upstream.breaker import BreakerKey, Breakers, BreakerSettings, SharedState, Ticket

KEY = ("openai", "gpt-5.2")
OTHER = ("azure", "gpt-5.2")
EPS = 2**-10


class BootClock:
    """A ManualClock's time, with monotonic seconds counted from a boot `boot_s` after the Unix
    epoch, as on a real host: code that mixes the two clocks up lands far off."""

    def __init__(self, base: ManualClock, boot_s: float) -> None:
        self._base = base
        self._boot_s = boot_s

    def monotonic(self) -> float:
        return self._base.monotonic() - self._boot_s

    def time(self) -> float:
        return self._base.time()


Heard = tuple[BreakerKey, SharedState, "float | None"]


def make(**settings: Any) -> tuple[ManualClock, Breakers, list[Heard]]:
    base = ManualClock()
    breakers = Breakers(BootClock(base, 1_700_000_000.0), BreakerSettings(**settings))
    heard: list[Heard] = []
    breakers.listen(lambda key, state, until_s: heard.append((key, state, until_s)))
    return base, breakers, heard


def admit(breakers: Breakers, key: BreakerKey = KEY) -> Ticket:
    ticket = breakers.admit(*key)
    assert ticket is not None, f"{key} refused an attempt"
    return ticket


def fail(breakers: Breakers, times: int, key: BreakerKey = KEY) -> None:
    for _ in range(times):
        breakers.record(admit(breakers, key), False)


def test_listeners_hear_local_opens_and_closes_in_unix_time() -> None:
    clock, breakers, heard = make(consecutive_failures=3, open_s=30.0)
    start = clock.time()
    fail(breakers, 2)
    assert heard == []
    fail(breakers, 1)
    assert heard == [(KEY, "open", start + 30.0)]
    clock.advance(30.0)
    assert breakers.state(*KEY) == "half-open"
    assert len(heard) == 1  # becoming half-open is each replica's own business
    breakers.record(admit(breakers), False)  # the probe fails: reopened from now
    assert len(heard) == 2
    clock.advance(30.0)
    breakers.record(admit(breakers), True)
    assert heard == [
        (KEY, "open", start + 30.0),
        (KEY, "open", start + 60.0),
        (KEY, "closed", None),
    ]


def test_every_listener_hears_each_transition() -> None:
    _, breakers, heard = make(consecutive_failures=1)
    also: list[BreakerKey] = []
    breakers.listen(lambda key, _state, _until: also.append(key))
    fail(breakers, 1, OTHER)
    assert [key for key, _, _ in heard] == also == [OTHER]


def test_remote_changes_are_not_heard() -> None:
    clock, breakers, heard = make()
    breakers.apply_remote(KEY, "open", clock.time() + 10.0)
    breakers.apply_remote(KEY, "closed", None)
    assert heard == []


def test_a_remote_open_holds_until_its_unix_time_then_probes() -> None:
    clock, breakers, _ = make(open_s=30.0)
    breakers.apply_remote(KEY, "open", clock.time() + 12.0)  # not open_s: the sender's period
    assert breakers.state(*KEY) == "open"
    assert not breakers.available(*KEY)
    assert breakers.admit(*KEY) is None
    assert breakers.snapshot()[KEY].half_open_in_s == 12.0
    clock.advance(12.0 - EPS)
    assert breakers.admit(*KEY) is None
    clock.advance(EPS)
    assert breakers.available(*KEY)
    assert admit(breakers).probe
    assert breakers.state(*OTHER) == "closed"


def test_a_remote_open_drops_outcomes_of_tickets_admitted_before() -> None:
    clock, breakers, heard = make(consecutive_failures=2, open_s=30.0, half_open_probes=2)
    sent = admit(breakers)  # in flight while closed
    breakers.apply_remote(KEY, "open", clock.time() + 30.0)
    breakers.record(sent, False)
    assert breakers.snapshot()[KEY].consecutive_failures == 0
    clock.advance(30.0)
    probe, other_probe = admit(breakers), admit(breakers)
    breakers.apply_remote(KEY, "open", clock.time() + 30.0)  # another replica's probe failed
    breakers.record(probe, True)  # its period is gone: must not close
    breakers.release(other_probe)  # nor free a slot in a later round
    assert breakers.state(*KEY) == "open"
    clock.advance(30.0)
    assert admit(breakers).probe
    assert admit(breakers).probe
    assert breakers.admit(*KEY) is None
    assert heard == []


def test_a_remote_open_never_shortens_a_longer_local_one() -> None:
    clock, breakers, _ = make(consecutive_failures=1, open_s=30.0)
    fail(breakers, 1)
    breakers.apply_remote(KEY, "open", clock.time() + 10.0)
    assert breakers.snapshot()[KEY].half_open_in_s == 30.0
    breakers.apply_remote(KEY, "open", clock.time() + 45.0)
    assert breakers.snapshot()[KEY].half_open_in_s == 45.0


def test_a_remote_open_already_over_changes_nothing() -> None:
    clock, breakers, _ = make(consecutive_failures=3, open_s=30.0)
    sent = admit(breakers)
    fail(breakers, 1)
    breakers.apply_remote(KEY, "open", clock.time())
    breakers.apply_remote(KEY, "open", clock.time() - 5.0)
    breakers.apply_remote(OTHER, "open", clock.time() - 5.0)
    assert breakers.state(*KEY) == "closed"
    breakers.record(sent, False)  # still the same period: it counts
    assert breakers.snapshot()[KEY].consecutive_failures == 2
    assert OTHER not in breakers.snapshot()


def test_a_remote_close_closes_open_and_half_open_with_fresh_counts() -> None:
    clock, breakers, _ = make(consecutive_failures=2, open_s=30.0)
    fail(breakers, 2)
    breakers.apply_remote(KEY, "closed", None)
    assert breakers.state(*KEY) == "closed"
    assert breakers.snapshot()[KEY].window_requests == 0
    assert not admit(breakers).probe
    fail(breakers, 2)
    clock.advance(30.0)
    probe = admit(breakers)
    breakers.apply_remote(KEY, "closed", None)
    assert breakers.state(*KEY) == "closed"
    breakers.record(probe, False)  # a probe of the period the close ended: dropped
    assert breakers.state(*KEY) == "closed"
    assert breakers.snapshot()[KEY].consecutive_failures == 0


def test_a_remote_close_leaves_a_closed_breaker_and_unknown_keys_alone() -> None:
    _, breakers, _ = make(consecutive_failures=3)
    fail(breakers, 2)
    breakers.apply_remote(KEY, "closed", None)
    breakers.apply_remote(OTHER, "closed", None)
    assert breakers.snapshot()[KEY].consecutive_failures == 2
    assert OTHER not in breakers.snapshot()
    fail(breakers, 1)
    assert breakers.state(*KEY) == "open"


def test_a_remote_open_needs_its_time() -> None:
    _, breakers, _ = make()
    with pytest.raises(ValueError, match="open_until_s"):
        breakers.apply_remote(KEY, "open", None)
