"""Rate-limit headroom per provider and model, learned from upstream's x-ratelimit-* headers.

The router asks `fits()` before it picks a candidate, so a request spills to the next candidate
instead of being sent to earn a 429. What is known comes from three sources:

- `observe()`: the six x-ratelimit-* headers of a response. Each bucket's remaining count replaces
  what was known; it holds until the bucket's reset passes, after which the bucket is unknown
  again and assumed to have room (a stale view must never starve a deployment). A remaining
  count without a readable reset is dropped for the same reason: nothing says when it lapses.
- `take()`: local pacing. Each request the gateway sends is counted against the last headers
  until new ones arrive, so a burst sent on one observation does not overrun it.
- `observe_429()`: upstream refused; the key has no headroom until its retry-after passes.

Refill. OpenAI's buckets refill continuously and are full when the reset passes, so with the limit
known the level is modelled as a straight line from the observed level to the limit at the reset.
Interpolating avoids starving a deployment whose bucket is refilling: waiting for the whole reset
would hold back requests that upstream would take. Without the limit there is no line to draw,
and the remaining count is held flat until the reset.

The observed level is not simply `remaining`: upstream floors it, which at small limits loses up
to a whole request (rpm=3: a third of the capacity). The reset, written to the millisecond, is
the precise figure: a bucket of `limit` per window W that is full in `reset` seconds holds
limit * (1 - reset / W). OpenAI's windows are a minute or a day; when one of them agrees with the
floored `remaining`, the level is taken from the reset, otherwise it is `remaining` itself (the
plain interpolation, conservative by under one unit).

Known limits of the model: a response's headers replace local counts for requests still in flight
that upstream had not yet seen; a full bucket (remaining = limit, or reset 0) is forgotten, so
`take()` paces nothing until the next headers; upstream charging beyond a request's estimate (a
level below zero) is not inferred from headers, a 429 catches it instead.

In memory, one per process, for one event loop: not thread-safe.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from laneway.clock import Clock

_LIMIT_REQUESTS = "x-ratelimit-limit-requests"
_LIMIT_TOKENS = "x-ratelimit-limit-tokens"
_REMAINING_REQUESTS = "x-ratelimit-remaining-requests"
_REMAINING_TOKENS = "x-ratelimit-remaining-tokens"
_RESET_REQUESTS = "x-ratelimit-reset-requests"
_RESET_TOKENS = "x-ratelimit-reset-tokens"

_WINDOWS_S = (60.0, 86_400.0)
"""OpenAI's rate-limit windows: per minute (RPM, TPM) and per day (RPD, TPD)."""

_RESET_PRECISION_S = 0.001  # resets are written to the millisecond, rounded up
_GRACE_S = 1e-6  # as upstream judges capacity: float noise in the clock must not refuse
_UNIT_EPSILON = 1e-9
_MAX_BLOCK_S = 86_400.0  # a retry-after beyond a day is taken as garbage, not obeyed for longer
_MAX_DURATION_CHARS = 64
_MAX_COUNT_DIGITS = 18

_UNIT_S = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 MICRO SIGN, what Go writes
    "μs": 1e-6,  # U+03BC GREEK SMALL LETTER MU, which Go also accepts
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Longer units first, so "ms" is never read as "m" followed by garbage.
_PART = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)"
_DURATION = re.compile(f"(?:{_PART})+")
_PARTS = re.compile(_PART)


def parse_duration(text: str) -> float | None:
    """Seconds in a Go duration ("1s", "6m0s", "20ms", "1m30.5s", "150µs"); None if it is not one.

    Follows Go's time.ParseDuration: an optional sign, then number-unit pairs (a number may have
    a fraction), or a bare "0". Never raises: the text comes from upstream.
    """
    text = text.strip()
    if len(text) > _MAX_DURATION_CHARS:
        return None
    sign = 1.0
    if text[:1] in ("+", "-"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if _DURATION.fullmatch(text) is None:
        return None
    seconds = sum(float(number) * _UNIT_S[unit] for number, unit in _PARTS.findall(text))
    return sign * seconds if math.isfinite(seconds) else None


@dataclass(frozen=True, slots=True)
class HeadroomView:
    """What is known of one provider and model now, for listing; None where nothing is known."""

    requests_left: int | None
    requests_limit: int | None
    requests_reset_s: float | None  # until the requests bucket is full (or its count lapses)
    tokens_left: int | None
    tokens_limit: int | None
    tokens_reset_s: float | None
    blocked_s: float  # left of a 429's retry-after; 0.0 when not blocked


@dataclass(slots=True)
class _Bucket:
    """A bucket's modelled level: `level` at `as_of`, refilling at `rate` a second until `until`."""

    level: float
    as_of: float
    rate: float  # 0.0 when the limit is unknown: the count is held flat
    until: float  # when the view lapses: the bucket is full again, or the reset passed

    def level_at(self, now: float) -> float:
        return self.level + self.rate * (now - self.as_of)

    def shortfall(self, need: float, now: float) -> float | None:
        """Seconds until `need` units are there, or None if they are there now."""
        level = self.level_at(now)
        if level + self.rate * _GRACE_S >= need - _UNIT_EPSILON:
            return None
        wait = self.until - now  # at the latest the view lapses and room is assumed
        if self.rate > 0:
            wait = min(wait, (need - level) / self.rate)
        return wait

    def take(self, units: int, now: float) -> None:
        self.level = self.level_at(now) - units
        self.as_of = now
        if self.rate > 0:
            self.until += units / self.rate  # the line reaches the limit that much later


class _Key:
    """What is known of one provider and model."""

    __slots__ = ("blocked_until", "request_limit", "requests", "token_limit", "tokens")

    def __init__(self) -> None:
        self.request_limit: int | None = None
        self.token_limit: int | None = None
        self.requests: _Bucket | None = None
        self.tokens: _Bucket | None = None
        self.blocked_until = -math.inf

    def live_requests(self, now: float) -> _Bucket | None:
        if self.requests is not None and now + _GRACE_S >= self.requests.until:
            self.requests = None  # lapsed: unknown again, which means room
        return self.requests

    def live_tokens(self, now: float) -> _Bucket | None:
        if self.tokens is not None and now + _GRACE_S >= self.tokens.until:
            self.tokens = None
        return self.tokens


class Headroom:
    """Rate-limit headroom per (provider, model), learned from headers and paced locally.

    Memory is one small record per key ever observed. Not thread-safe: one event loop owns it.
    """

    __slots__ = ("_clock", "_keys")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[tuple[str, str], _Key] = {}

    def observe(self, provider: str, model: str, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers (lower-case names); what cannot be read is ignored."""
        request_limit = _count(headers.get(_LIMIT_REQUESTS))
        token_limit = _count(headers.get(_LIMIT_TOKENS))
        requests_left = _count(headers.get(_REMAINING_REQUESTS))
        tokens_left = _count(headers.get(_REMAINING_TOKENS))
        if (request_limit, token_limit, requests_left, tokens_left) == (None, None, None, None):
            return  # nothing to learn; an unseen key stays a bare dict miss in fits()
        key = self._keys.get((provider, model))
        if key is None:
            key = self._keys[(provider, model)] = _Key()
        now = self._clock.monotonic()
        if request_limit is not None:
            key.request_limit = request_limit
        if token_limit is not None:
            key.token_limit = token_limit
        if requests_left is not None:
            key.requests = _bucket(
                key.request_limit, requests_left, _reset(headers.get(_RESET_REQUESTS)), now
            )
        if tokens_left is not None:
            key.tokens = _bucket(
                key.token_limit, tokens_left, _reset(headers.get(_RESET_TOKENS)), now
            )

    def observe_429(self, provider: str, model: str, retry_after_s: float) -> None:
        """Upstream answered 429: no headroom on this key until `retry_after_s` has passed."""
        if not math.isfinite(retry_after_s) or retry_after_s <= 0:
            return
        key = self._keys.get((provider, model))
        if key is None:
            key = self._keys[(provider, model)] = _Key()
        until = self._clock.monotonic() + min(retry_after_s, _MAX_BLOCK_S)
        # The later deadline wins: 429s answered out of order must not lift a block early.
        key.blocked_until = max(key.blocked_until, until)

    def take(self, provider: str, model: str, tokens: int) -> None:
        """Count a request being sent, estimated at `tokens` tokens, against the known buckets."""
        if tokens < 0:
            raise ValueError(f"tokens must not be negative, got {tokens}")
        key = self._keys.get((provider, model))
        if key is None:
            return
        now = self._clock.monotonic()
        if (requests := key.live_requests(now)) is not None:
            requests.take(1, now)
        if (bucket := key.live_tokens(now)) is not None:
            bucket.take(tokens, now)

    def fits(self, provider: str, model: str, tokens: int) -> str | None:
        """None if a request of ~`tokens` tokens has room (or nothing is known), else why not."""
        if tokens < 0:
            raise ValueError(f"tokens must not be negative, got {tokens}")
        key = self._keys.get((provider, model))
        if key is None:
            return None
        now = self._clock.monotonic()
        if key.blocked_until > now + _GRACE_S:
            return f"upstream answered 429: retry in {_format_wait(key.blocked_until - now)}"
        requests = key.live_requests(now)
        if requests is not None and (wait := requests.shortfall(1, now)) is not None:
            left = _whole(requests.level_at(now))
            of = "" if key.request_limit is None else f" of {key.request_limit:,}"
            return f"no request headroom: {left:,}{of} requests left for {_format_wait(wait)}"
        if key.token_limit is not None and tokens > key.token_limit:
            # Upstream refuses such a request outright ("Request too large"): waiting never helps.
            return f"request too large: needs ~{tokens:,} tokens, the limit is {key.token_limit:,}"
        bucket = key.live_tokens(now)
        if bucket is not None and (wait := bucket.shortfall(tokens, now)) is not None:
            left = _whole(bucket.level_at(now))
            of = "" if key.token_limit is None else f" of {key.token_limit:,}"
            return (
                f"no token headroom: {left:,}{of} tokens left, this request needs ~{tokens:,} "
                f"(room in {_format_wait(wait)})"
            )
        return None

    def snapshot(self) -> dict[tuple[str, str], HeadroomView]:
        """Every key observed, as known now."""
        now = self._clock.monotonic()
        views: dict[tuple[str, str], HeadroomView] = {}
        for name, key in self._keys.items():
            requests = key.live_requests(now)
            tokens = key.live_tokens(now)
            views[name] = HeadroomView(
                requests_left=None if requests is None else _whole(requests.level_at(now)),
                requests_limit=key.request_limit,
                requests_reset_s=None if requests is None else requests.until - now,
                tokens_left=None if tokens is None else _whole(tokens.level_at(now)),
                tokens_limit=key.token_limit,
                tokens_reset_s=None if tokens is None else tokens.until - now,
                blocked_s=max(key.blocked_until - now, 0.0),
            )
        return views


def _bucket(limit: int | None, remaining: int, reset_s: float | None, now: float) -> _Bucket | None:
    """The view a response's headers give of one bucket; None when it holds nothing back."""
    if reset_s is None or reset_s <= 0:
        return None  # with no reset we cannot tell when the count lapses; assume room
    if limit is None:
        return _Bucket(float(remaining), now, 0.0, now + reset_s)
    if remaining >= limit:
        return None  # full
    level = _observed_level(limit, remaining, reset_s)
    return _Bucket(level, now, (limit - level) / reset_s, now + reset_s)


def _observed_level(limit: int, remaining: int, reset_s: float) -> float:
    """The bucket's level behind a floored `remaining`, from the reset where a window agrees."""
    for window in _WINDOWS_S:
        level = limit * (1 - reset_s / window)
        slack = limit / window * _RESET_PRECISION_S + _UNIT_EPSILON
        if remaining - slack <= level < remaining + 1 + slack:
            return min(max(level, float(remaining)), remaining + 1 - _UNIT_EPSILON)
    return float(remaining)


def _count(text: str | None) -> int | None:
    """A non-negative whole number from a header, or None."""
    if text is None:
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_COUNT_DIGITS:
        return None
    return int(text)


def _reset(text: str | None) -> float | None:
    if text is None:
        return None
    seconds = parse_duration(text)
    return None if seconds is None or seconds < 0 else seconds


def _whole(level: float) -> int:
    """Whole units left, as upstream reports them: floored, never below zero."""
    return max(math.floor(level + _UNIT_EPSILON), 0)


def _format_wait(seconds: float) -> str:
    """A wait for people, rounded up: "0.2s", "42.5s", "6m0s", "1h2m5s"."""
    tenths = max(math.ceil(seconds * 10 - 1e-6), 1)  # the slack keeps 0.3 s from showing as 0.4
    if tenths < 600:
        return f"{tenths / 10:g}s"
    total = math.ceil(seconds - 1e-6)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"
