"""Circuit breakers per (provider, model): opening, probing, closing, on a manual clock."""

from __future__ import annotations

from typing import Any

import pytest

from laneway.clock import ManualClock
from laneway.upstream.breaker import Breakers, BreakerSettings, BreakerStatus, Ticket

KEY = ("openai", "gpt-5.2")
OTHER_MODEL = ("openai", "gpt-5-mini")
OTHER_PROVIDER = ("azure", "gpt-5.2")
EPS = 2**-10  # exact in binary, so clock arithmetic lands on the boundary to the bit


def make(**settings: Any) -> tuple[ManualClock, Breakers]:
    clock = ManualClock()
    return clock, Breakers(clock, BreakerSettings(**settings))


def admit(breakers: Breakers, key: tuple[str, str] = KEY) -> Ticket:
    ticket = breakers.admit(*key)
    assert ticket is not None, f"{key} refused an attempt"
    return ticket


def outcome(breakers: Breakers, ok: bool, key: tuple[str, str] = KEY) -> None:
    breakers.record(admit(breakers, key), ok)


def outcomes(breakers: Breakers, pattern: str, key: tuple[str, str] = KEY) -> None:
    """One outcome per character: "s" success, "f" failure."""
    for char in pattern:
        outcome(breakers, char == "s", key)


def trip(breakers: Breakers, key: tuple[str, str] = KEY) -> None:
    outcomes(breakers, "f" * breakers.settings.consecutive_failures, key)
    assert breakers.state(*key) == "open"


def test_unknown_keys_are_closed() -> None:
    _, breakers = make()
    assert breakers.state(*KEY) == "closed"
    assert breakers.available(*KEY)
    assert breakers.snapshot() == {}
    ticket = admit(breakers)
    assert not ticket.probe
    assert ticket.key == KEY


def test_consecutive_failures_open_it() -> None:
    _, breakers = make(consecutive_failures=5)
    outcomes(breakers, "ffff")
    assert breakers.state(*KEY) == "closed"
    assert breakers.available(*KEY)
    outcome(breakers, False)
    assert breakers.state(*KEY) == "open"
    assert not breakers.available(*KEY)
    assert breakers.admit(*KEY) is None


def test_a_success_resets_the_consecutive_count() -> None:
    _, breakers = make(consecutive_failures=5)
    outcomes(breakers, "ffffsffff")
    assert breakers.state(*KEY) == "closed"
    assert breakers.snapshot()[KEY].consecutive_failures == 4
    outcome(breakers, False)
    assert breakers.state(*KEY) == "open"


def test_failure_rate_opens_it_once_min_requests_are_seen() -> None:
    # Alternating outcomes never make 2 failures in a row: only the rate can open it.
    _, breakers = make(consecutive_failures=2, failure_rate=0.5, min_requests=20)
    outcomes(breakers, "fs" * 9 + "f")  # 10 of 19 failed: above the rate, below min_requests
    assert breakers.state(*KEY) == "closed"
    outcome(breakers, True)  # 10 of 20 is the rate exactly, but a success never opens it
    assert breakers.state(*KEY) == "closed"
    outcome(breakers, False)  # 11 of 21
    assert breakers.state(*KEY) == "open"


def test_failure_rate_below_min_requests_never_opens() -> None:
    _, breakers = make(consecutive_failures=100, failure_rate=0.1, min_requests=20)
    outcomes(breakers, "f" * 19)
    assert breakers.state(*KEY) == "closed"
    assert breakers.snapshot()[KEY].window_failures == 19
    outcome(breakers, False)
    assert breakers.state(*KEY) == "open"


def test_failure_rate_below_the_threshold_stays_closed() -> None:
    _, breakers = make(consecutive_failures=100, failure_rate=0.5, min_requests=10)
    outcomes(breakers, "s" * 60 + "f" * 30)  # 1 in 3 failed
    assert breakers.state(*KEY) == "closed"


def test_failure_rate_at_the_threshold_opens_without_float_error() -> None:
    # 0.28 * 25 is 7.000000000000001 in floats; the share 7 / 25 is exactly 0.28.
    _, breakers = make(consecutive_failures=100, failure_rate=0.28, min_requests=25)
    outcomes(breakers, "s" * 18 + "f" * 6)
    assert breakers.state(*KEY) == "closed"
    outcome(breakers, False)
    assert breakers.state(*KEY) == "open"


def test_the_window_forgets_old_outcomes() -> None:
    clock, breakers = make(consecutive_failures=100, failure_rate=0.5, min_requests=20)
    outcomes(breakers, "f" * 19)
    clock.advance(30.0)  # well inside the window: still counted
    assert breakers.snapshot()[KEY].window_requests == 19
    clock.advance(30.0)  # window_s after them: gone
    status = breakers.snapshot()[KEY]
    assert (status.window_failures, status.window_requests) == (0, 0)
    outcome(breakers, False)  # would be 20 of 20 had the old ones stayed
    assert breakers.state(*KEY) == "closed"
    assert breakers.snapshot()[KEY].window_requests == 1
    assert breakers.snapshot()[KEY].consecutive_failures == 20  # that count knows no window


def test_the_window_counts_outcomes_across_buckets() -> None:
    clock, breakers = make(consecutive_failures=100, failure_rate=0.5, min_requests=20)
    for _ in range(19):
        outcome(breakers, False)
        clock.advance(2.0)  # spread over 38 s, many buckets
    assert breakers.snapshot()[KEY].window_requests == 19
    outcome(breakers, False)
    assert breakers.state(*KEY) == "open"


def test_open_becomes_half_open_after_open_s_exactly() -> None:
    clock, breakers = make(open_s=30.0)
    trip(breakers)
    clock.advance(30.0 - EPS)
    assert breakers.state(*KEY) == "open"
    assert not breakers.available(*KEY)
    assert breakers.admit(*KEY) is None
    assert breakers.snapshot()[KEY].half_open_in_s == EPS
    clock.advance(EPS)
    assert breakers.state(*KEY) == "half-open"
    assert breakers.available(*KEY)
    assert admit(breakers).probe


def test_half_open_admits_exactly_half_open_probes_at_once() -> None:
    clock, breakers = make(open_s=30.0, half_open_probes=3)
    trip(breakers)
    clock.advance(30.0)
    probes = [admit(breakers) for _ in range(3)]
    assert all(ticket.probe for ticket in probes)
    assert breakers.admit(*KEY) is None
    assert not breakers.available(*KEY)
    assert breakers.snapshot()[KEY].probes_in_flight == 3


def test_a_probe_success_closes_it_with_fresh_counts() -> None:
    clock, breakers = make(open_s=30.0)
    outcomes(breakers, "sss")
    trip(breakers)
    clock.advance(30.0)
    breakers.record(admit(breakers), True)
    assert breakers.state(*KEY) == "closed"
    assert breakers.snapshot()[KEY] == BreakerStatus(
        state="closed",
        consecutive_failures=0,
        window_failures=0,
        window_requests=0,
        half_open_in_s=None,
        probes_in_flight=0,
    )
    assert not admit(breakers).probe
    outcomes(breakers, "ffff")  # the count starts from zero again
    assert breakers.state(*KEY) == "closed"


def test_a_probe_failure_reopens_it_for_a_full_open_s() -> None:
    clock, breakers = make(open_s=30.0)
    trip(breakers)
    clock.advance(100.0)  # long past due: the new open period starts at the probe's failure
    breakers.record(admit(breakers), False)
    assert breakers.state(*KEY) == "open"
    assert breakers.snapshot()[KEY].half_open_in_s == 30.0
    clock.advance(30.0 - EPS)
    assert breakers.admit(*KEY) is None
    clock.advance(EPS)
    assert admit(breakers).probe


def test_tripped_counts_the_breakers_that_are_not_closed() -> None:
    """Planning skips every breaker lookup while `tripped` is 0, so it must never miss one."""
    clock, breakers = make(open_s=10.0, half_open_probes=1)
    outcomes(breakers, "s", OTHER_MODEL)
    assert breakers.tripped == 0
    trip(breakers)
    trip(breakers, OTHER_PROVIDER)
    assert breakers.tripped == 2
    clock.advance(10.0)  # half-open: still not closed
    breakers.record(admit(breakers), False)  # the probe fails: open again, counted once
    assert breakers.tripped == 2
    clock.advance(10.0)
    breakers.record(admit(breakers), True)  # the probe succeeds: closed
    assert breakers.tripped == 1
    breakers.apply_remote(OTHER_PROVIDER, "open", clock.time() + 60.0)  # already open
    breakers.apply_remote(OTHER_MODEL, "open", clock.time() + 60.0)
    assert breakers.tripped == 2
    breakers.apply_remote(OTHER_MODEL, "closed", None)
    breakers.apply_remote(OTHER_MODEL, "closed", None)  # closed already: nothing changes
    breakers.apply_remote(OTHER_PROVIDER, "closed", None)
    assert breakers.tripped == 0
    assert all(breakers.available(*key) for key in (KEY, OTHER_MODEL, OTHER_PROVIDER))


def test_a_released_probe_frees_its_slot() -> None:
    clock, breakers = make(half_open_probes=1)
    trip(breakers)
    clock.advance(30.0)
    cancelled = admit(breakers)
    assert breakers.admit(*KEY) is None
    breakers.release(cancelled)
    assert breakers.available(*KEY)
    second = admit(breakers)
    assert second.probe
    # Settling a ticket again changes nothing: no second slot appears.
    breakers.release(cancelled)
    breakers.record(cancelled, True)
    assert breakers.admit(*KEY) is None
    assert breakers.state(*KEY) == "half-open"
    breakers.record(second, True)
    breakers.release(second)  # the usual `finally`: after a verdict it does nothing
    assert breakers.state(*KEY) == "closed"


def test_a_verdict_counts_once_per_ticket() -> None:
    _, breakers = make(consecutive_failures=2)
    ticket = admit(breakers)
    breakers.record(ticket, False)
    breakers.record(ticket, False)
    assert breakers.state(*KEY) == "closed"
    assert breakers.snapshot()[KEY].window_requests == 1


def test_available_has_no_side_effects() -> None:
    clock, breakers = make(half_open_probes=2)
    trip(breakers)
    clock.advance(30.0)
    for _ in range(100):
        assert breakers.available(*KEY)
    assert breakers.snapshot()[KEY].probes_in_flight == 0
    first, second = admit(breakers), admit(breakers)
    assert first.probe
    assert second.probe
    for _ in range(100):
        assert not breakers.available(*KEY)
    assert breakers.admit(*KEY) is None


def test_outcomes_from_before_a_state_change_are_dropped() -> None:
    clock, breakers = make(consecutive_failures=2, open_s=30.0, half_open_probes=3)
    slow = admit(breakers)  # sent while closed, answers only later
    trip(breakers)
    clock.advance(30.0)
    probe = admit(breakers)
    breakers.record(slow, True)  # must not close it: it is not a probe
    assert breakers.state(*KEY) == "half-open"
    assert breakers.snapshot()[KEY].probes_in_flight == 1
    late_probe, orphan = admit(breakers), admit(breakers)
    breakers.record(probe, False)  # reopens; the other probes now belong to a past period
    breakers.record(late_probe, True)
    assert breakers.state(*KEY) == "open"
    clock.advance(30.0)
    fresh = [admit(breakers) for _ in range(3)]
    breakers.release(orphan)  # no effect: its slot went with its period
    assert all(ticket.probe for ticket in fresh)
    assert breakers.admit(*KEY) is None
    assert breakers.snapshot()[KEY].probes_in_flight == 3


def test_keys_are_independent() -> None:
    _, breakers = make(consecutive_failures=3)
    outcomes(breakers, "ff", OTHER_MODEL)
    outcomes(breakers, "ff", OTHER_PROVIDER)
    trip(breakers)
    for key in (OTHER_MODEL, OTHER_PROVIDER):
        assert breakers.state(*key) == "closed"
        assert breakers.available(*key)
        assert breakers.snapshot()[key].consecutive_failures == 2
    outcome(breakers, True, OTHER_MODEL)
    outcome(breakers, False, OTHER_PROVIDER)
    assert breakers.state(*OTHER_MODEL) == "closed"
    assert breakers.state(*OTHER_PROVIDER) == "open"
    assert breakers.snapshot()[OTHER_MODEL].consecutive_failures == 0


def test_snapshot_describes_each_key() -> None:
    clock, breakers = make(consecutive_failures=3, open_s=30.0)
    outcomes(breakers, "sf", OTHER_MODEL)
    outcomes(breakers, "sfff")
    clock.advance(10.0)
    assert breakers.snapshot() == {
        KEY: BreakerStatus(
            state="open",
            consecutive_failures=3,
            window_failures=3,
            window_requests=4,
            half_open_in_s=20.0,
            probes_in_flight=0,
        ),
        OTHER_MODEL: BreakerStatus(
            state="closed",
            consecutive_failures=1,
            window_failures=1,
            window_requests=2,
            half_open_in_s=None,
            probes_in_flight=0,
        ),
    }
    clock.advance(20.0)
    status = breakers.snapshot()[KEY]
    assert (status.state, status.half_open_in_s, status.probes_in_flight) == (
        "half-open",
        None,
        0,
    )
    admit(breakers)
    assert breakers.snapshot()[KEY].probes_in_flight == 1


def test_snapshot_is_a_copy() -> None:
    _, breakers = make()
    outcome(breakers, True)
    before = breakers.snapshot()
    outcome(breakers, False)
    assert before[KEY].consecutive_failures == 0
    assert breakers.snapshot()[KEY].consecutive_failures == 1


def test_defaults() -> None:
    assert BreakerSettings() == BreakerSettings(
        consecutive_failures=5,
        failure_rate=0.5,
        min_requests=20,
        window_s=60.0,
        open_s=30.0,
        half_open_probes=1,
    )
    _, breakers = make()
    assert breakers.settings == BreakerSettings()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("consecutive_failures", 0, "consecutive_failures must be >= 1"),
        ("failure_rate", 0.0, "failure_rate must be in"),
        ("failure_rate", 1.5, "failure_rate must be in"),
        ("failure_rate", float("nan"), "failure_rate must be in"),
        ("min_requests", 0, "min_requests must be >= 1"),
        ("window_s", 0.0, "window_s must be a positive"),
        ("window_s", float("inf"), "window_s must be a positive"),
        ("open_s", -1.0, "open_s must be a positive"),
        ("open_s", float("nan"), "open_s must be a positive"),
        ("half_open_probes", 0, "half_open_probes must be >= 1"),
    ],
)
def test_invalid_settings_are_rejected(field: str, value: float, message: str) -> None:
    settings: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=message):
        BreakerSettings(**settings)
