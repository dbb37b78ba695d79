"""The reasoning-effort climb as a pure decision over per-line scores, so it can be simulated
thousands of times against a known truth (tests/replay/test_tune_policy.py) and driven by real
runs alike (laneway.replay.tune).

Efforts are given cheapest first (reasoning tokens, and so cost per call, grow with effort).
`measure(effort, start, stop)` returns the per-line scores (0..1, NaN for a line with no
graded answer) of that effort on the workload's lines start .. stop - 1, or None when the
provider refused the effort. The climb:

    1. screen on a first slice: measure the lowest effort, then the next; climb while the next
       is better (the paired one-sided lower bound of next - current above 0). When it is not,
       look up to `look_ahead` efforts further (a late jump after a plateau); climb to the first
       that is better than the current one, else stop: higher efforts stop paying.
    2. contenders: the efforts screened that are not worse than the best screened one (the
       upper bound of their difference above -margin).
    3. decide on the whole workload: extend the best screened contender, then the contenders
       cheapest first; the first non-inferior to the best extended one (lower bound above
       -margin) is the pick.

The full sweep (`sweep`) measures every effort on every line and picks the cheapest effort
non-inferior to the best measured: the reference the climb is proved against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from laneway.replay.stats.paired import paired_difference
from laneway.replay.stats.resample import FloatArray
from laneway.replay.stats.samples import Samples

Measure = Callable[[int, int, int], FloatArray | None]  # (effort, start, stop) -> scores


@dataclass(frozen=True, slots=True)
class PolicySettings:
    margin: float = 0.02  # non-inferior: behind the best by less than this (0..1 scale)
    alpha: float = 0.05  # one-sided, for each comparison
    slice_share: float = 0.25  # the first slice's share of the lines
    min_slice: int = 50  # lines in the first slice, at the least
    look_ahead: int = 2  # efforts tried past one that does not pay, for a late jump
    resamples: int = 2000  # for scores that are not pure pass/fail
    seed: int = 0  # the bootstrap's, so the same scores give the same decision


@dataclass(frozen=True, slots=True)
class Step:
    """One comparison on the first slice (`effort` over `current`), or a refusal."""

    effort: int
    current: int | None  # None: the provider refused `effort`
    lower: float = float("nan")  # the lower bound of effort - current
    paid: bool = False


@dataclass(slots=True)
class Climb:
    """What the climb measured and decided; `calls` counts line-measurements."""

    lines: int
    first: int  # lines in the first slice
    scores: dict[int, FloatArray] = field(default_factory=dict)  # per effort, NaN: unmeasured
    refused: list[int] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)  # why it climbed or stopped, in order
    contenders: list[int] = field(default_factory=list)
    best: int | None = None  # the best effort on the whole workload
    pick: int | None = None  # None: every effort refused
    calls: int = 0


def climb(efforts: int, lines: int, measure: Measure, settings: PolicySettings) -> Climb:
    """Climb `efforts` (indices 0 .. efforts - 1, cheapest first) over `lines` lines."""
    first = min(lines, max(settings.min_slice, math.ceil(lines * settings.slice_share)))
    found = Climb(lines, first)
    screen = _Screen(found, measure, settings)
    usable = list(range(efforts))
    current = screen.first_usable(usable)
    if current is None:  # every effort refused: nothing to pick
        return found
    while True:
        ahead = [e for e in usable if e > current][: 1 + settings.look_ahead]
        higher = next((e for e in ahead if screen.pays(e, current)), None)
        if higher is None:
            break
        current = higher
    _decide(found, screen, settings)
    return found


class _Screen:
    """Measurements on the first slice, and the climb's comparisons on it."""

    def __init__(self, found: Climb, measure: Measure, settings: PolicySettings) -> None:
        self._found = found
        self._measure = measure
        self._settings = settings

    def take(self, effort: int, start: int, stop: int) -> bool:
        """Measure lines start .. stop - 1 of `effort`; False when it was refused."""
        if effort in self._found.refused:
            return False
        got = self._measure(effort, start, stop)
        self._found.calls += stop - start
        if got is None:
            self._found.refused.append(effort)
            self._found.steps.append(Step(effort, None))
            return False
        row = self._found.scores.setdefault(effort, np.full(self._found.lines, np.nan))
        row[start:stop] = got
        return True

    def screened(self, effort: int) -> bool:
        if effort in self._found.scores or effort in self._found.refused:
            return effort in self._found.scores
        return self.take(effort, 0, self._found.first)

    def first_usable(self, efforts: Sequence[int]) -> int | None:
        return next((e for e in efforts if self.screened(e)), None)

    def pays(self, higher: int, current: int) -> bool:
        if not self.screened(higher):
            return False
        lower = bound(self._found.scores[higher], self._found.scores[current], self._settings)[0]
        self._found.steps.append(Step(higher, current, lower, lower > 0))
        return lower > 0


def _decide(found: Climb, screen: _Screen, settings: PolicySettings) -> None:
    screened = sorted(found.scores)
    top = max(screened, key=lambda e: (_mean(found.scores[e]), -e))
    found.contenders = [
        e
        for e in screened
        if e == top or bound(found.scores[e], found.scores[top], settings)[1] > -settings.margin
    ]
    extended = [top]
    screen.take(top, found.first, found.lines)
    for effort in found.contenders:
        if effort not in extended:
            screen.take(effort, found.first, found.lines)
            extended.append(effort)
        best = max(extended, key=lambda e: (_mean(found.scores[e]), -e))
        if effort == best or bound(found.scores[effort], found.scores[best], settings)[0] > (
            -settings.margin
        ):
            found.best, found.pick = best, effort
            return


def sweep(scores: Sequence[FloatArray], settings: PolicySettings) -> tuple[int, int]:
    """(the best effort, the cheapest effort non-inferior to it) over every measured line."""
    best = max(range(len(scores)), key=lambda e: (_mean(scores[e]), -e))
    for effort in range(len(scores)):
        if effort == best or bound(scores[effort], scores[best], settings)[0] > -settings.margin:
            return best, effort
    return best, best  # unreachable: the best is non-inferior to itself


def bound(
    candidate: FloatArray, reference: FloatArray, settings: PolicySettings
) -> tuple[float, float]:
    """One-sided (lower, upper) bounds at 1 - alpha of the mean per-line difference
    candidate - reference, over the lines both have scores for (the statistics' paired
    difference: Tango's bound for pass/fail, else a paired bootstrap)."""
    difference = paired_difference(
        _samples(candidate),
        _samples(reference),
        np.random.default_rng(settings.seed),
        resamples=settings.resamples,
    )
    if difference is None:
        return -1.0, 1.0
    return difference.lower(settings.alpha), difference.upper(settings.alpha)


def _samples(scores: FloatArray) -> Samples:
    present = np.flatnonzero(~np.isnan(scores))
    return Samples(present, scores[present], len(scores))


def _mean(scores: FloatArray) -> float:
    taken = scores[~np.isnan(scores)]
    return float(taken.mean()) if taken.size else -1.0
