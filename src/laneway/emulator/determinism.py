"""Deterministic randomness: every choice the emulator makes is a function of (seed, inputs).

A hash of the parts, not a shared generator, so concurrent requests cannot disturb each other's
draws: the same request under the same seed always gets the same answer.
"""

from __future__ import annotations

import hashlib
import random

_SCALE = float(1 << 64)


def _digest(seed: int, parts: tuple[object, ...], size: int = 16) -> bytes:
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size).digest()


def unit(seed: int, *parts: object) -> float:
    """A uniform draw in [0, 1) fixed by the seed and the parts."""
    return int.from_bytes(_digest(seed, parts)[:8], "little") / _SCALE


def units(seed: int, count: int, *parts: object) -> tuple[float, ...]:
    """`count` independent uniform draws in [0, 1) from one hash of the seed and the parts."""
    digest = _digest(seed, parts, 8 * count)
    return tuple(
        int.from_bytes(digest[i : i + 8], "little") / _SCALE for i in range(0, 8 * count, 8)
    )


def rng(seed: int, *parts: object) -> random.Random:
    """A generator whose whole sequence is fixed by the seed and the parts."""
    # Not for secrets: reproducible answers are the whole point.
    return random.Random(int.from_bytes(_digest(seed, parts), "little"))  # noqa: S311
