"""Rate-limit headroom: Go durations, headers, refill, local pacing, 429s, and the emulator."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laneway.clock import ManualClock
from laneway.emulator.rate_limits import Limits, RateLimiter, go_duration
from laneway.upstream.headroom import Headroom, HeadroomView, parse_duration

P, M = "openai", "gpt-5.2"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def headroom(clock: ManualClock) -> Headroom:
    return Headroom(clock)


def headers(
    *,
    limit_requests: str | None = None,
    limit_tokens: str | None = None,
    remaining_requests: str | None = None,
    remaining_tokens: str | None = None,
    reset_requests: str | None = None,
    reset_tokens: str | None = None,
) -> dict[str, str]:
    values = {
        "x-ratelimit-limit-requests": limit_requests,
        "x-ratelimit-limit-tokens": limit_tokens,
        "x-ratelimit-remaining-requests": remaining_requests,
        "x-ratelimit-remaining-tokens": remaining_tokens,
        "x-ratelimit-reset-requests": reset_requests,
        "x-ratelimit-reset-tokens": reset_tokens,
    }
    return {name: value for name, value in values.items() if value is not None}


# --- Go durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0s", 0.0),
        ("0", 0.0),
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1m30.5s", 90.5),
        ("150µs", 150e-6),  # U+00B5, as Go writes it
        ("150μs", 150e-6),  # U+03BC
        ("150us", 150e-6),
        ("250ns", 250e-9),
        ("1.5ms", 0.0015),
        ("1h2m5s", 3725.0),
        ("24h0m0s", 86_400.0),
        ("59.999s", 59.999),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("1s500ms", 1.5),
        ("-1.5s", -1.5),
        ("+2s", 2.0),
        (" 3s\t", 3.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "-",
        "s",
        ".s",
        "1",
        "12",
        "1x",
        "1S",
        "abc",
        "1.2.3s",
        "--1s",
        "1s ms",
        "1 s",
        "nan",
        "inf",
        "1e3s",
        "\u0661s",  # an Arabic-Indic digit one: Go reads ASCII digits only
        "1m-5s",
        "1" * 100 + "s",
        "9" * 400 + "h",
    ],
)
def test_parse_duration_refuses_garbage_without_raising(text: str) -> None:
    assert parse_duration(text) is None


@given(st.floats(min_value=0, max_value=10 * 86_400, allow_nan=False))
def test_every_go_duration_the_emulator_writes_parses_back(seconds: float) -> None:
    text = go_duration(seconds)
    parsed = parse_duration(text)
    assert parsed is not None, text
    assert abs(parsed - seconds) < 1e-3, text


@given(st.integers(min_value=0, max_value=10 * 86_400_000))
def test_whole_millisecond_resets_parse_back_exactly(ms: int) -> None:
    # The emulator's reset headers are whole milliseconds: "0s", "120ms", "1.2s", "1m0s".
    assert parse_duration(go_duration(ms / 1000)) == pytest.approx(ms / 1000, abs=1e-9)


@pytest.mark.parametrize(
    "seconds", [0, 1e-9, 5e-7, 1.5e-4, 0.02, 0.12, 1, 1.898, 59.999, 60, 90.5, 360, 3725, 86_400]
)
def test_go_duration_round_trip_examples(seconds: float) -> None:
    parsed = parse_duration(go_duration(seconds))
    assert parsed is not None
    assert abs(parsed - seconds) < 1e-3


# --- knowing nothing ------------------------------------------------------------------------


def test_nothing_known_means_room(headroom: Headroom) -> None:
    assert headroom.fits(P, M, 10**9) is None
    headroom.take(P, M, 1000)  # counts against nothing, raises nothing
    assert headroom.fits(P, M, 10**9) is None
    assert headroom.snapshot() == {}


def test_headers_without_rate_limits_leave_the_key_unknown(headroom: Headroom) -> None:
    headroom.observe(P, M, {"x-request-id": "req_1", "content-type": "application/json"})
    assert headroom.snapshot() == {}


@pytest.mark.parametrize(
    "bad",
    [
        headers(remaining_requests="0", reset_requests="soon"),
        headers(remaining_requests="-1", reset_requests="10s"),
        headers(remaining_requests="1.5", reset_requests="10s"),
        headers(remaining_requests="lots", reset_requests="10s"),
        headers(remaining_requests="9" * 50, reset_requests="10s"),
        headers(remaining_requests="0"),  # no reset: no telling when it lapses
        headers(remaining_requests="0", reset_requests="-5s"),
        headers(remaining_requests="0", reset_requests="0s"),
        headers(limit_requests="x", remaining_requests="", reset_requests=""),
    ],
)
def test_garbage_is_ignored(headroom: Headroom, bad: dict[str, str]) -> None:
    headroom.observe(P, M, bad)
    assert headroom.fits(P, M, 1) is None
    for view in headroom.snapshot().values():
        assert view.requests_left is None


def test_a_full_bucket_holds_nothing_back(headroom: Headroom) -> None:
    headroom.observe(
        P,
        M,
        headers(
            limit_requests="500",
            remaining_requests="500",
            reset_requests="0s",
            limit_tokens="1000",
            remaining_tokens="1000",
            reset_tokens="0s",
        ),
    )
    assert headroom.fits(P, M, 1000) is None
    view = headroom.snapshot()[(P, M)]
    assert (view.requests_left, view.requests_limit) == (None, 500)


# --- reading headers ------------------------------------------------------------------------


def test_no_requests_left_blocks_until_the_reset_passes(
    headroom: Headroom, clock: ManualClock
) -> None:
    # Without the limit there is no refill line: the count holds until the reset.
    headroom.observe(P, M, headers(remaining_requests="0", reset_requests="1.2s"))
    assert headroom.fits(P, M, 1) == "no request headroom: 0 requests left for 1.2s"
    clock.advance(1.0)
    assert headroom.fits(P, M, 1) == "no request headroom: 0 requests left for 0.2s"
    clock.advance(0.199)
    assert headroom.fits(P, M, 1) is not None
    clock.advance(0.001)
    assert headroom.fits(P, M, 1) is None
    assert headroom.snapshot()[(P, M)].requests_left is None  # unknown again


def test_no_requests_left_with_the_limit_refills_continuously(
    headroom: Headroom, clock: ManualClock
) -> None:
    headroom.observe(
        P, M, headers(limit_requests="500", remaining_requests="0", reset_requests="1m0s")
    )
    # 500 a minute: one request is back after 120 ms, not after the whole minute.
    assert headroom.fits(P, M, 1) == "no request headroom: 0 of 500 requests left for 0.2s"
    clock.advance(0.119)
    assert headroom.fits(P, M, 1) is not None
    clock.advance(0.001)
    assert headroom.fits(P, M, 1) is None


def test_refill_interpolates_from_remaining_to_the_limit(
    headroom: Headroom, clock: ManualClock
) -> None:
    # 0 of 1,000 tokens, full in 10 s: no minute or day window explains these figures, so the
    # plain line from `remaining` to the limit: 100 tokens a second.
    headroom.observe(P, M, headers(limit_tokens="1000", remaining_tokens="0", reset_tokens="10s"))
    assert headroom.fits(P, M, 100) is not None
    clock.advance(0.999)
    assert headroom.fits(P, M, 100) is not None
    clock.advance(0.001)
    assert headroom.fits(P, M, 100) is None
    assert headroom.fits(P, M, 101) is not None
    clock.advance(4.0)
    assert headroom.snapshot()[(P, M)].tokens_left == 500
    assert headroom.snapshot()[(P, M)].tokens_reset_s == pytest.approx(5.0)
    clock.advance(5.0)
    assert headroom.snapshot()[(P, M)].tokens_left is None  # full: unknown again
    assert headroom.fits(P, M, 1000) is None


def test_the_reset_recovers_the_level_that_remaining_floors(
    headroom: Headroom, clock: ManualClock
) -> None:
    # 3 a minute, full in 45 s: the bucket holds 0.75 of a request, reported as 0. Interpolating
    # from 0 would wait 15 s for a request; the true wait is 5 s.
    headroom.observe(
        P, M, headers(limit_requests="3", remaining_requests="0", reset_requests="45s")
    )
    assert headroom.fits(P, M, 1) == "no request headroom: 0 of 3 requests left for 5s"
    clock.advance(4.999)
    assert headroom.fits(P, M, 1) is not None
    clock.advance(0.001)
    assert headroom.fits(P, M, 1) is None


def test_token_headroom_short_of_the_estimate(headroom: Headroom, clock: ManualClock) -> None:
    # 1,200 of 30,000 tokens a minute: full in 57.6 s, refilling 500 a second.
    headroom.observe(
        P, M, headers(limit_tokens="30000", remaining_tokens="1200", reset_tokens="57.6s")
    )
    assert headroom.fits(P, M, 1200) is None
    assert headroom.fits(P, M, 5000) == (
        "no token headroom: 1,200 of 30,000 tokens left, this request needs ~5,000 (room in 7.6s)"
    )
    clock.advance(7.6)
    assert headroom.fits(P, M, 5000) is None


def test_a_request_over_the_token_limit_never_fits(headroom: Headroom, clock: ManualClock) -> None:
    headroom.observe(
        P, M, headers(limit_tokens="30000", remaining_tokens="29000", reset_tokens="2s")
    )
    assert headroom.fits(P, M, 30_000) is not None  # 1,000 short, for now
    clock.advance(2.0)
    assert headroom.fits(P, M, 30_000) is None
    assert headroom.fits(P, M, 30_001) == (
        "request too large: needs ~30,001 tokens, the limit is 30,000"
    )


def test_partial_headers_teach_what_they_carry(headroom: Headroom) -> None:
    headroom.observe(
        P,
        M,
        headers(
            limit_requests="500",
            remaining_requests="0",
            reset_requests="1m0s",
            remaining_tokens="??",
            reset_tokens="6m0s",
        ),
    )
    view = headroom.snapshot()[(P, M)]
    assert (view.requests_left, view.requests_limit) == (0, 500)
    assert view.requests_reset_s == pytest.approx(60.0)
    assert (view.tokens_left, view.tokens_limit, view.tokens_reset_s) == (None, None, None)
    assert headroom.fits(P, M, 1) is not None


# --- local pacing ---------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [None, "500"])
def test_take_counts_requests_until_remaining_is_spent(
    headroom: Headroom, limit: str | None
) -> None:
    headroom.observe(
        P, M, headers(limit_requests=limit, remaining_requests="5", reset_requests="59s")
    )
    for _ in range(5):
        assert headroom.fits(P, M, 10) is None
        headroom.take(P, M, 10)
    reason = headroom.fits(P, M, 10)
    assert reason is not None
    assert reason.startswith("no request headroom: 0 ")
    assert headroom.snapshot()[(P, M)].requests_left == 0


def test_take_counts_tokens(headroom: Headroom) -> None:
    headroom.observe(P, M, headers(remaining_tokens="1000", reset_tokens="30s"))
    headroom.take(P, M, 600)
    assert headroom.fits(P, M, 400) is None
    assert headroom.fits(P, M, 401) == (
        "no token headroom: 400 tokens left, this request needs ~401 (room in 30s)"
    )
    headroom.take(P, M, 400)
    assert headroom.snapshot()[(P, M)].tokens_left == 0


def test_take_pushes_the_full_time_out(headroom: Headroom, clock: ManualClock) -> None:
    # 60 a minute, 59 left, full in 1 s; ten more requests take ten more seconds to refill.
    headroom.observe(
        P, M, headers(limit_requests="60", remaining_requests="59", reset_requests="1s")
    )
    for _ in range(10):
        headroom.take(P, M, 0)
    view = headroom.snapshot()[(P, M)]
    assert view.requests_left == 49
    assert view.requests_reset_s == pytest.approx(11.0)
    clock.advance(5.0)
    assert headroom.snapshot()[(P, M)].requests_left == 54


def test_new_headers_replace_the_local_count(headroom: Headroom) -> None:
    headroom.observe(P, M, headers(remaining_requests="2", reset_requests="30s"))
    headroom.take(P, M, 1)
    headroom.take(P, M, 1)
    assert headroom.fits(P, M, 1) is not None
    headroom.observe(P, M, headers(remaining_requests="7", reset_requests="30s"))
    assert headroom.fits(P, M, 1) is None
    assert headroom.snapshot()[(P, M)].requests_left == 7
    headroom.observe(P, M, headers(remaining_requests="0", reset_requests="30s"))
    assert headroom.fits(P, M, 1) is not None


def test_take_refuses_negative_tokens(headroom: Headroom) -> None:
    with pytest.raises(ValueError, match="negative"):
        headroom.take(P, M, -1)
    with pytest.raises(ValueError, match="negative"):
        headroom.fits(P, M, -1)


# --- 429s -----------------------------------------------------------------------------------


def test_a_429_blocks_until_its_retry_after(headroom: Headroom, clock: ManualClock) -> None:
    headroom.observe_429(P, M, 2.5)
    assert headroom.fits(P, M, 0) == "upstream answered 429: retry in 2.5s"
    assert headroom.snapshot()[(P, M)].blocked_s == pytest.approx(2.5)
    clock.advance(2.499)
    assert headroom.fits(P, M, 0) is not None
    clock.advance(0.001)
    assert headroom.fits(P, M, 0) is None
    assert headroom.snapshot()[(P, M)].blocked_s == 0.0


def test_a_shorter_429_does_not_lift_a_longer_block(headroom: Headroom, clock: ManualClock) -> None:
    headroom.observe_429(P, M, 90.0)
    headroom.observe_429(P, M, 1.0)
    clock.advance(1.0)
    assert headroom.fits(P, M, 0) == "upstream answered 429: retry in 1m29s"


@pytest.mark.parametrize("retry_after_s", [0.0, -1.0, float("nan"), float("inf")])
def test_a_429_without_a_usable_wait_blocks_nothing(
    headroom: Headroom, retry_after_s: float
) -> None:
    headroom.observe_429(P, M, retry_after_s)
    assert headroom.fits(P, M, 0) is None


# --- keys -----------------------------------------------------------------------------------


def test_keys_are_independent(headroom: Headroom) -> None:
    headroom.observe("openai", "gpt-5.2", headers(remaining_requests="0", reset_requests="9s"))
    headroom.observe_429("azure", "gpt-5-mini", 9.0)
    assert headroom.fits("openai", "gpt-5.2", 1) is not None
    assert headroom.fits("openai", "gpt-5-mini", 1) is None
    assert headroom.fits("azure", "gpt-5.2", 1) is None
    assert headroom.fits("azure", "gpt-5-mini", 1) is not None
    headroom.take("openai", "gpt-5-mini", 1)
    assert set(headroom.snapshot()) == {("openai", "gpt-5.2"), ("azure", "gpt-5-mini")}


def test_snapshot(headroom: Headroom, clock: ManualClock) -> None:
    headroom.observe(
        P,
        M,
        headers(
            limit_requests="500",
            limit_tokens="500000",
            remaining_requests="499",
            remaining_tokens="499000",
            reset_requests="120ms",
            reset_tokens="120ms",
        ),
    )
    clock.advance(0.02)
    assert headroom.snapshot() == {
        (P, M): HeadroomView(
            requests_left=499,
            requests_limit=500,
            requests_reset_s=pytest.approx(0.1),  # type: ignore[arg-type]
            tokens_left=499_166,
            tokens_limit=500_000,
            tokens_reset_s=pytest.approx(0.1),  # type: ignore[arg-type]
            blocked_s=0.0,
        )
    }


# --- against the emulator -------------------------------------------------------------------


def drive(limiter: RateLimiter, headroom: Headroom, tokens: int) -> bool:
    """One request as the gateway sends it; asserts Headroom predicted the emulator's verdict."""
    reason = headroom.fits(P, M, tokens)
    if reason is None:
        headroom.take(P, M, tokens)
    decision = limiter.check(M, tokens)
    assert decision is not None
    assert (reason is None) == decision.allowed, (reason, decision.headers)
    headroom.observe(P, M, decision.headers)
    return decision.allowed


def test_headroom_refuses_exactly_when_the_emulator_would() -> None:
    # rpm=3 and tpm=600: a request refills in 20 s and a token in 0.1 s, so on a millisecond
    # clock the emulator's state is always whole milliseconds, the precision of its headers.
    clock = ManualClock()
    limiter = RateLimiter(clock, {M: Limits(rpm=3, tpm=600)})
    headroom = Headroom(clock)

    assert [drive(limiter, headroom, 100) for _ in range(4)] == [True, True, True, False]
    clock.advance(19.999)
    assert not drive(limiter, headroom, 100)
    clock.advance(0.001)
    assert drive(limiter, headroom, 100)  # one request back after exactly 20 s
    clock.advance(20.0)
    assert not drive(limiter, headroom, 700)  # over tpm: never
    assert drive(limiter, headroom, 500)
    clock.advance(20.0)  # a request is back, and 200 tokens: 300 left
    assert not drive(limiter, headroom, 500)
    clock.advance(19.999)
    assert not drive(limiter, headroom, 500)
    clock.advance(0.001)
    assert drive(limiter, headroom, 500)  # the 200 tokens missing came back in 20 s

    rng = random.Random(20260101)
    verdicts = set()
    for _ in range(2000):
        clock.advance(rng.choice([0, 0, 0.001, 0.5, rng.randrange(1, 30_000) / 1000]))
        verdicts.add(drive(limiter, headroom, rng.choice([0, 1, 50, 200, 600, 601])))
    assert verdicts == {True, False}
