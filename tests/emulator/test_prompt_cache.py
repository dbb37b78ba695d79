"""The emulator's prompt cache: 1,024-token floor, 128-token steps, scopes, expiry, eviction."""

from __future__ import annotations

import random
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.clock import ManualClock
from laneway.emulator.prompt_cache import PromptCache


def tokens(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(200_000) for _ in range(n)]


def diverging(base: list[int], shared: int, n: int, seed: int = 99) -> list[int]:
    """`n` tokens whose first `shared` are base's and whose next one differs from base's."""
    tail = tokens(n - shared, seed)
    if shared < len(base) and tail:
        tail[0] = base[shared] + 1
    return base[:shared] + tail


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cache(clock: ManualClock) -> PromptCache:
    return PromptCache(clock)


def test_short_prompts_are_neither_hit_nor_stored(cache: PromptCache) -> None:
    prompt = tokens(1023)
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 0
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 0
    assert len(cache) == 0
    assert cache.lookup_and_store("gpt-5.2", None, []) == 0


def test_first_sight_is_a_miss(cache: PromptCache) -> None:
    assert cache.lookup_and_store("gpt-5.2", None, tokens(5000)) == 0


@pytest.mark.parametrize(
    ("n", "cached"),
    [(1024, 1024), (1100, 1024), (1151, 1024), (1152, 1152), (2000, 1920), (4096, 4096)],
)
def test_identical_repeat_hits_floor_to_128(cache: PromptCache, n: int, cached: int) -> None:
    prompt = tokens(n)
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 0
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == cached


def test_shared_prefix_hits_in_128_token_steps(cache: PromptCache) -> None:
    first = tokens(2000)
    cache.lookup_and_store("gpt-5.2", None, first)
    assert cache.lookup_and_store("gpt-5.2", None, diverging(first, 1500, 2000)) == 1408
    assert cache.lookup_and_store("gpt-5.2", None, diverging(first, 1408, 2000, 7)) == 1408
    assert cache.lookup_and_store("gpt-5.2", None, diverging(first, 1407, 2000, 8)) == 1280
    assert cache.lookup_and_store("gpt-5.2", None, diverging(first, 1023, 2000, 9)) == 0


def test_longer_and_shorter_prompts_share_prefixes(cache: PromptCache) -> None:
    long = tokens(3000)
    cache.lookup_and_store("gpt-5.2", None, long[:1500])
    assert cache.lookup_and_store("gpt-5.2", None, long) == 1408  # what 1,500 tokens stored
    assert cache.lookup_and_store("gpt-5.2", None, long[:1300]) == 1280
    assert cache.lookup_and_store("gpt-5.2", None, long + tokens(500, 1)) == 2944


def test_a_difference_in_the_first_block_is_a_miss(cache: PromptCache) -> None:
    prompt = tokens(3000)
    cache.lookup_and_store("gpt-5.2", None, prompt)
    assert cache.lookup_and_store("gpt-5.2", None, [prompt[0] + 1, *prompt[1:]]) == 0


def test_scopes_do_not_share(cache: PromptCache) -> None:
    prompt = tokens(2048)
    cache.lookup_and_store("gpt-5.2", None, prompt)
    assert cache.lookup_and_store("gpt-5-mini", None, prompt) == 0
    assert cache.lookup_and_store("gpt-5.2", "user-1", prompt) == 0
    assert cache.lookup_and_store("gpt-5.2", "", prompt) == 0
    assert cache.lookup_and_store("gpt-5.2", "user-2", prompt) == 0
    assert cache.lookup_and_store("gpt-5.2", "user-1", prompt) == 2048
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 2048


def test_any_sequence_of_ints_will_do(cache: PromptCache) -> None:
    prompt = tokens(1300)
    cache.lookup_and_store("gpt-5.2", None, prompt)
    assert cache.lookup_and_store("gpt-5.2", None, tuple(prompt)) == 1280
    assert cache.lookup_and_store("gpt-5.2", None, array("I", prompt)) == 1280
    cache.lookup_and_store("gpt-5.2", None, range(2000))
    assert cache.lookup_and_store("gpt-5.2", None, list(range(1200))) == 1152


def test_entries_expire_after_ttl_idle(clock: ManualClock) -> None:
    cache = PromptCache(clock, ttl_s=60.0)
    prompt = tokens(1500)
    cache.lookup_and_store("gpt-5.2", None, prompt)
    clock.advance(59.5)
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 1408  # and refreshed
    clock.advance(59.5)
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 1408  # 119 s after the first
    clock.advance(60.0)
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 0  # idle for the full ttl


def test_a_hit_refreshes_only_the_prefixes_in_the_prompt(clock: ManualClock) -> None:
    cache = PromptCache(clock, ttl_s=60.0)
    prompt = tokens(2048)
    cache.lookup_and_store("gpt-5.2", None, prompt)
    clock.advance(40.0)
    assert cache.lookup_and_store("gpt-5.2", None, prompt[:1200]) == 1152
    clock.advance(40.0)  # the longer prefixes are 80 s idle, the short ones 40 s
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 1152


def test_expired_entries_are_dropped(clock: ManualClock) -> None:
    cache = PromptCache(clock, ttl_s=10.0)
    cache.lookup_and_store("gpt-5.2", None, tokens(1500))
    assert len(cache) == 4  # 1024, 1152, 1280, 1408
    clock.advance(10.0)
    cache.lookup_and_store("gpt-5.2", None, tokens(1024, 1))
    assert len(cache) == 1


def test_memory_is_bounded_least_recently_used_first(clock: ManualClock) -> None:
    cache = PromptCache(clock, max_entries=3)
    a, b, c, d = (tokens(1024, seed) for seed in range(4))
    for prompt in (a, b, c):
        cache.lookup_and_store("gpt-5.2", None, prompt)
    assert cache.lookup_and_store("gpt-5.2", None, a) == 1024  # a is now the most recent
    cache.lookup_and_store("gpt-5.2", None, d)  # evicts b
    assert len(cache) == 3
    assert cache.lookup_and_store("gpt-5.2", None, a) == 1024
    assert cache.lookup_and_store("gpt-5.2", None, c) == 1024
    assert cache.lookup_and_store("gpt-5.2", None, b) == 0


def test_a_prompt_longer_than_the_bound_keeps_its_longest_prefixes(clock: ManualClock) -> None:
    cache = PromptCache(clock, max_entries=2)
    prompt = tokens(2048)  # 9 prefixes
    cache.lookup_and_store("gpt-5.2", None, prompt)
    assert len(cache) == 2
    assert cache.lookup_and_store("gpt-5.2", None, prompt) == 2048
    assert cache.lookup_and_store("gpt-5.2", None, prompt[:1500]) == 0


def test_bad_settings_are_refused(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="ttl_s must be positive"):
        PromptCache(clock, ttl_s=0.0)
    with pytest.raises(ValueError, match="ttl_s must be positive"):
        PromptCache(clock, ttl_s=float("nan"))
    with pytest.raises(ValueError, match="max_entries must be at least 1"):
        PromptCache(clock, max_entries=0)


@settings(max_examples=60, deadline=None)
@given(
    first=st.integers(0, 2600),
    shared=st.integers(0, 2600),
    second=st.integers(0, 2600),
)
def test_matches_a_naive_model(first: int, shared: int, second: int) -> None:
    """cached = the largest 1024 + 128k <= min(shared prefix, len(first), len(second))."""
    base = tokens(max(first, second, shared) + 1)
    a = base[:first]
    b = diverging(base, min(shared, second), second)
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    limit = min(common, len(a), len(b))
    expected = limit // 128 * 128 if limit >= 1024 else 0

    cache = PromptCache(ManualClock())
    cache.lookup_and_store("m", None, a)
    assert cache.lookup_and_store("m", None, b) == expected
