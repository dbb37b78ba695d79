"""OpenAI's automatic prompt caching, emulated: how many input tokens a request gets as cached.

Published behaviour (shared/openai-wire.md): caching is automatic for prompts of 1,024 tokens or
more; a hit covers the longest previously seen prefix, counted in 128-token steps from 1,024;
`prompt_cache_key` steers requests to a cache of their own; idle entries expire.

Rules chosen here where OpenAI publishes none:

- A cache is scoped by (model, prompt_cache_key); no key is a scope of its own, distinct from
  every key (the empty string included).
- The cacheable prefixes of an n-token prompt are its first b tokens for every b = 1024 + 128k
  with b <= n. So the whole prompt can be a hit when n is on a boundary, and an identical
  repeat of an n-token prompt (n >= 1024) reports floor(n / 128) * 128 cached tokens.
- Every call refreshes the expiry of all of its prompt's prefixes (a hit is one of them), so an
  entry expires `ttl_s` after the last request that contained it.
- At most `max_entries` prefixes are kept; past that the least recently used go first.

Each prefix is kept as a 64-bit chained hash, not as tokens: h(first 1,024 tokens, scope), then
h(previous hash, next 128 tokens). One pass over the prompt, no quadratic slicing, and a few
dozen bytes per entry. A false hit needs a 64-bit collision (about 1e-14 per prefix looked up
among 200,000 entries); for an emulator that is acceptable and it keeps the hot path in C.

Not thread-safe: one instance belongs to one event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from laneway.clock import Clock

MIN_CACHEABLE_TOKENS = 1024
"""Prompts shorter than this are never cached, nor stored."""

CACHE_STEP_TOKENS = 128
"""Hits grow in steps of this many tokens above MIN_CACHEABLE_TOKENS."""


class PromptCache:
    """Remembers prompt prefixes per (model, cache key) and reports cached_tokens for new ones."""

    __slots__ = ("_clock", "_entries", "_max_entries", "_ttl_s")

    def __init__(self, clock: Clock, *, ttl_s: float = 300.0, max_entries: int = 200_000) -> None:
        if not ttl_s > 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        self._clock = clock
        self._ttl_s = float(ttl_s)
        self._max_entries = max_entries
        # prefix hash -> expiry (monotonic seconds). The ttl is fixed and the clock never goes
        # back, so recency order (kept by move_to_end) is also expiry order: expired entries are
        # always at the front, and so is the least recently used one.
        self._entries: OrderedDict[int, float] = OrderedDict()

    def __len__(self) -> int:
        """Stored prefixes, expired ones not yet dropped included."""
        return len(self._entries)

    def lookup_and_store(self, model: str, cache_key: str | None, token_ids: Sequence[int]) -> int:
        """The cached_tokens for this prompt, then record its prefixes for later prompts.

        Returns 0, or the length of the longest stored, unexpired prefix (1024 + 128k tokens,
        at most len(token_ids)) of this prompt in the same (model, cache_key) scope.
        """
        n = len(token_ids)
        if n < MIN_CACHEABLE_TOKENS:
            return 0
        now = self._clock.monotonic()
        entries = self._entries
        while entries:  # drop expired entries, oldest first; O(1) amortised
            oldest = next(iter(entries))
            if entries[oldest] > now:
                break
            del entries[oldest]

        hashes = _prefix_hashes(model, cache_key, token_ids)
        cached = 0
        # Longest first: shorter prefixes may have been evicted while a longer one survived.
        for i in range(len(hashes) - 1, -1, -1):
            if hashes[i] in entries:
                cached = MIN_CACHEABLE_TOKENS + CACHE_STEP_TOKENS * i
                break

        expires = now + self._ttl_s
        move_to_end = entries.move_to_end
        for h in hashes:
            entries[h] = expires
            move_to_end(h)  # a refreshed entry becomes the most recent one
        while len(entries) > self._max_entries:
            entries.popitem(last=False)
        return cached

    def clear(self) -> None:
        self._entries.clear()


def _prefix_hashes(model: str, cache_key: str | None, token_ids: Sequence[int]) -> list[int]:
    """Chained hashes of the prompt's prefixes at 1024, 1152, 1280, ... tokens (up to len)."""
    # Tuple slices hash in C; a list would need a tuple per slice, so convert once.
    tokens = token_ids if isinstance(token_ids, tuple) else tuple(token_ids)
    # Tuples of (str, str | None) hash without ambiguity: a key cannot pose as part of a model.
    h = hash((model, cache_key, tokens[:MIN_CACHEABLE_TOKENS]))
    hashes = [h]
    for start in range(
        MIN_CACHEABLE_TOKENS, len(tokens) - CACHE_STEP_TOKENS + 1, CACHE_STEP_TOKENS
    ):
        h = hash((h, tokens[start : start + CACHE_STEP_TOKENS]))
        hashes.append(h)
    return hashes
