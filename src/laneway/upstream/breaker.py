"""Circuit breakers, one per (provider, model), so the router stops sending to a sick deployment.

What counts as a failure is the caller's choice: the gateway counts 5xx, timeouts and failed
connections, not 4xx or 429 (the deployment answered; a 429 is pacing, which rate-limit headroom
handles, not ill health).

States:
- closed: requests flow. It opens after `consecutive_failures` failures in a row, or when the
  last `window_s` saw at least `min_requests` outcomes of which a share >= `failure_rate` failed.
- open: nothing is sent. After `open_s` it becomes half-open (on the next `admit`).
- half-open: at most `half_open_probes` probe requests in flight. A probe success closes it
  with fresh counts; a probe failure reopens it for another `open_s`.

Usage, per attempt: `available` while planning (a pure read), `admit` right before sending
(returns a `Ticket`, or None: do not send), then `record(ticket, ok)`, or `release(ticket)`
when there is no verdict (cancelled, never sent). Only the first of these per ticket counts, so
`try: ... record(...) finally: release(...)` never leaks a probe slot.

A ticket belongs to the breaker period it was admitted in: once the breaker changes state
(opens, or closes after probing), outcomes of older tickets are dropped. A slow request sent
before an outage must not close a half-open breaker, nor free a slot in a later probing round.

Replicas share state through `listen` (each local open or close, as it happens) and
`apply_remote` (another replica's, as learned); `breaker_board.BreakerBoard` carries them over
Redis. Only opening and closing travel: counts, windows and probes stay per replica.

In memory, for one event loop; not thread-safe. No method awaits, so each is atomic within the
loop. Memory grows with the number of (provider, model) pairs admitted or applied, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from laneway.clock import Clock

__all__ = [
    "BreakerKey",
    "BreakerListener",
    "BreakerSettings",
    "BreakerState",
    "BreakerStatus",
    "Breakers",
    "SharedState",
    "Ticket",
]

BreakerState: TypeAlias = Literal["closed", "open", "half-open"]
BreakerKey: TypeAlias = tuple[str, str]  # (provider name, model)
# What replicas tell each other: half-open is each replica's own business (its probes).
SharedState: TypeAlias = Literal["open", "closed"]
# (key, state, open until as Unix seconds; None when closed). Called inside `record`, on the
# request path: it must be quick and must not raise.
BreakerListener: TypeAlias = Callable[[BreakerKey, SharedState, float | None], None]

CLOSED: Final = "closed"
OPEN: Final = "open"
HALF_OPEN: Final = "half-open"

# The failure-rate window is this many time buckets, not a list of outcomes: memory and the
# cost of a check are fixed. An outcome stops counting between window_s * (1 - 1/_BUCKETS)
# and window_s after it was recorded.
_BUCKETS: Final = 10


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    consecutive_failures: int = 5  # open after this many failures in a row
    failure_rate: float = 0.5  # ... or when this share of the window's outcomes failed
    min_requests: int = 20  # ... and the window saw at least this many outcomes
    window_s: float = 60.0
    open_s: float = 30.0  # time open before probing (half-open)
    half_open_probes: int = 1  # probes in flight at once while half-open

    def __post_init__(self) -> None:
        if self.consecutive_failures < 1:
            raise ValueError(f"consecutive_failures must be >= 1, got {self.consecutive_failures}")
        if not 0 < self.failure_rate <= 1:
            raise ValueError(f"failure_rate must be in (0, 1], got {self.failure_rate}")
        if self.min_requests < 1:
            raise ValueError(f"min_requests must be >= 1, got {self.min_requests}")
        if not (math.isfinite(self.window_s) and self.window_s > 0):
            raise ValueError(f"window_s must be a positive number of seconds, got {self.window_s}")
        if not (math.isfinite(self.open_s) and self.open_s > 0):
            raise ValueError(f"open_s must be a positive number of seconds, got {self.open_s}")
        if self.half_open_probes < 1:
            raise ValueError(f"half_open_probes must be >= 1, got {self.half_open_probes}")


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """One breaker as a health listing shows it."""

    state: BreakerState
    consecutive_failures: int
    window_failures: int
    window_requests: int
    half_open_in_s: float | None  # seconds until probing starts; None unless open
    probes_in_flight: int


class _Breaker:
    """The mutable state of one key; `Breakers` holds the logic."""

    __slots__ = (
        "consecutive",
        "epochs",
        "failures",
        "generation",
        "open_until",
        "probes",
        "requests",
        "state",
    )

    def __init__(self) -> None:
        self.state: BreakerState = CLOSED
        self.generation = 0  # bumped on every change out of closed or half-open
        self.consecutive = 0
        self.open_until = 0.0
        self.probes = 0
        # Bucket i holds outcomes of time slice epochs[i] (slice = monotonic // bucket width).
        self.epochs = [-1] * _BUCKETS
        self.requests = [0] * _BUCKETS
        self.failures = [0] * _BUCKETS


class Ticket:
    """Permission for one attempt, from `Breakers.admit`; settle it with `record` or `release`."""

    __slots__ = ("_breaker", "_generation", "_settled", "key", "probe")

    def __init__(self, key: BreakerKey, breaker: _Breaker, *, probe: bool) -> None:
        self.key = key
        self.probe = probe  # True when this attempt is a half-open probe
        self._breaker = breaker
        self._generation = breaker.generation
        self._settled = False

    def __repr__(self) -> str:
        return f"Ticket(key={self.key!r}, probe={self.probe}, settled={self._settled})"


class Breakers:
    """The breakers of all (provider, model) keys; unknown keys are closed."""

    __slots__ = ("_breakers", "_clock", "_listeners", "_settings", "_width", "tripped")

    def __init__(self, clock: Clock, settings: BreakerSettings | None = None) -> None:
        self._clock = clock
        self._settings = settings or BreakerSettings()
        self._width = self._settings.window_s / _BUCKETS
        self._breakers: dict[BreakerKey, _Breaker] = {}
        self._listeners: list[BreakerListener] = []
        # How many breakers are not closed (open or half-open). Planning reads it first: while
        # it is 0, every candidate is available without a lookup per candidate.
        self.tripped = 0

    @property
    def settings(self) -> BreakerSettings:
        return self._settings

    def available(self, provider: str, model: str) -> bool:
        """Whether an attempt would be admitted now; changes nothing (for planning)."""
        breaker = self._breakers.get((provider, model))
        if breaker is None or breaker.state == CLOSED:
            return True
        if breaker.state == OPEN:
            return self._clock.monotonic() >= breaker.open_until
        return breaker.probes < self._settings.half_open_probes

    def admit(self, provider: str, model: str) -> Ticket | None:
        """A ticket for an attempt about to be sent, or None when it must not be sent.

        Half-open (or open with `open_s` elapsed), the ticket takes a probe slot.
        """
        key = (provider, model)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = _Breaker()
        if breaker.state == CLOSED:
            return Ticket(key, breaker, probe=False)
        if breaker.state == OPEN:
            if self._clock.monotonic() < breaker.open_until:
                return None
            breaker.state = HALF_OPEN
            breaker.probes = 0
        if breaker.probes >= self._settings.half_open_probes:
            return None
        breaker.probes += 1
        return Ticket(key, breaker, probe=True)

    def record(self, ticket: Ticket, ok: bool) -> None:
        """The verdict on an admitted attempt. Later calls for the same ticket do nothing."""
        if ticket._settled:
            return
        ticket._settled = True
        breaker = ticket._breaker
        if ticket._generation != breaker.generation:
            return  # admitted before the breaker last changed state; says nothing about now
        now = self._clock.monotonic()
        self._count(breaker, now, failed=not ok)
        if ticket.probe:
            # Same generation as a probe means still half-open: every exit bumps it.
            if ok:
                self._close(breaker)
                self._tell(ticket.key, CLOSED, None)
            else:
                breaker.consecutive += 1
                self._open(breaker, now)
                self._tell(ticket.key, OPEN, breaker.open_until)
            return
        if ok:
            breaker.consecutive = 0
            return
        breaker.consecutive += 1
        if breaker.consecutive >= self._settings.consecutive_failures or self._rate_tripped(
            breaker, now
        ):
            self._open(breaker, now)
            self._tell(ticket.key, OPEN, breaker.open_until)

    def release(self, ticket: Ticket) -> None:
        """End an admitted attempt with no verdict (cancelled, not sent): frees a probe slot.

        After `record` for the same ticket, or a second time, it does nothing.
        """
        if ticket._settled:
            return
        ticket._settled = True
        if ticket.probe and ticket._generation == ticket._breaker.generation:
            ticket._breaker.probes -= 1

    def listen(self, listener: BreakerListener) -> None:
        """Call `listener` on each open or close that this process's own verdicts make (not on
        `apply_remote`, nor on open becoming half-open, which every replica does by itself)."""
        self._listeners.append(listener)

    def apply_remote(self, key: BreakerKey, state: SharedState, open_until_s: float | None) -> None:
        """Take another replica's open or close (`open_until_s`: Unix seconds).

        "open" opens the breaker until then unless it is already open at least that long; an
        open period already over changes nothing. Like a local open, it drops the outcomes of
        tickets admitted before. "closed" closes an open or half-open breaker with fresh counts.
        """
        breaker = self._breakers.get(key)
        if state == CLOSED:
            if breaker is not None and breaker.state != CLOSED:
                self._close(breaker)
            return
        if open_until_s is None:
            raise ValueError("an open state needs its open_until_s")
        now = self._clock.monotonic()
        # The wall clock is shared between replicas, the monotonic one is not: convert here.
        until = now + (open_until_s - self._clock.time())
        if until <= now:
            return
        if breaker is None:
            breaker = self._breakers[key] = _Breaker()
        elif breaker.state == OPEN and breaker.open_until >= until:
            return
        self._open(breaker, now)
        breaker.open_until = until

    def state(self, provider: str, model: str) -> BreakerState:
        """The state as `admit` would see it: open with `open_s` elapsed reads "half-open"."""
        breaker = self._breakers.get((provider, model))
        if breaker is None:
            return CLOSED
        return self._effective_state(breaker, self._clock.monotonic())

    def snapshot(self) -> Mapping[BreakerKey, BreakerStatus]:
        """Every key seen so far, as of now; a copy, for listing health."""
        now = self._clock.monotonic()
        return {key: self._status(breaker, now) for key, breaker in self._breakers.items()}

    def _effective_state(self, breaker: _Breaker, now: float) -> BreakerState:
        if breaker.state == OPEN and now >= breaker.open_until:
            return HALF_OPEN
        return breaker.state

    def _status(self, breaker: _Breaker, now: float) -> BreakerStatus:
        state = self._effective_state(breaker, now)
        failures, requests = self._window(breaker, now)
        return BreakerStatus(
            state=state,
            consecutive_failures=breaker.consecutive,
            window_failures=failures,
            window_requests=requests,
            half_open_in_s=breaker.open_until - now if state == OPEN else None,
            # An open breaker that became due has no probes yet; its stale count means nothing.
            probes_in_flight=breaker.probes if breaker.state == HALF_OPEN else 0,
        )

    def _count(self, breaker: _Breaker, now: float, *, failed: bool) -> None:
        epoch = int(now // self._width)
        i = epoch % _BUCKETS
        if breaker.epochs[i] != epoch:
            breaker.epochs[i] = epoch
            breaker.requests[i] = 0
            breaker.failures[i] = 0
        breaker.requests[i] += 1
        if failed:
            breaker.failures[i] += 1

    def _window(self, breaker: _Breaker, now: float) -> tuple[int, int]:
        """(failures, requests) over the buckets still inside the window."""
        oldest = int(now // self._width) - _BUCKETS + 1
        failures = requests = 0
        for i in range(_BUCKETS):
            if breaker.epochs[i] >= oldest:
                failures += breaker.failures[i]
                requests += breaker.requests[i]
        return failures, requests

    def _rate_tripped(self, breaker: _Breaker, now: float) -> bool:
        # Checked on failures only: a success never opens a breaker.
        failures, requests = self._window(breaker, now)
        # Divide rather than multiply: 7 / 25 >= 0.28 holds, 7 >= 0.28 * 25 does not in floats.
        return (
            requests >= self._settings.min_requests
            and failures / requests >= self._settings.failure_rate
        )

    def _tell(self, key: BreakerKey, state: SharedState, open_until: float | None) -> None:
        if not self._listeners:
            return
        until_s = None
        if open_until is not None:
            until_s = self._clock.time() + (open_until - self._clock.monotonic())
        for listener in self._listeners:
            listener(key, state, until_s)

    def _open(self, breaker: _Breaker, now: float) -> None:
        if breaker.state == CLOSED:
            self.tripped += 1
        breaker.state = OPEN
        breaker.generation += 1
        breaker.open_until = now + self._settings.open_s
        breaker.probes = 0

    def _close(self, breaker: _Breaker) -> None:
        if breaker.state != CLOSED:
            self.tripped -= 1
        breaker.state = CLOSED
        breaker.generation += 1
        breaker.consecutive = 0
        breaker.probes = 0
        for i in range(_BUCKETS):
            breaker.epochs[i] = -1
            breaker.requests[i] = 0
            breaker.failures[i] = 0
