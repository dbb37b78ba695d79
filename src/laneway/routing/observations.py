"""What a lane's answers have looked like per model: output tokens and the cached share of input.

The `cheapest` policy prices a request before it is sent. Its input is known; its output is not,
so it uses what this lane's requests on that model produced before (seeded from the ledger at
start-up, then updated as requests settle). Before any history, the caller falls back on the
request's max output (or the model's): a pessimistic guess that history soon replaces.

Averages are exact means over the first `HORIZON` answers, then exponentially weighted with
weight 1/HORIZON, so a lane whose prompts change is followed within a few hundred requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

HORIZON = 200
HISTORY_S = 7 * 86_400  # how far back the ledger seeds the profiles at start-up

# (lane, model, answers, mean output tokens, mean cached share), as the ledger aggregates them
LedgerProfile = tuple[str, str, int, float, float]


@dataclass(slots=True)
class Profile:
    answers: int = 0
    output_tokens: float = 0.0  # mean output tokens (reasoning included) per answer
    cached_share: float = 0.0  # mean share of input tokens that were cached

    def add(self, output_tokens: int, input_tokens: int, cached_tokens: int) -> None:
        self.answers += 1
        weight = 1.0 / min(self.answers, HORIZON)
        self.output_tokens += (output_tokens - self.output_tokens) * weight
        share = cached_tokens / input_tokens if input_tokens > 0 else 0.0
        self.cached_share += (share - self.cached_share) * weight


class Observations:
    """Profiles per (lane, model). One event loop; not thread-safe."""

    def __init__(self) -> None:
        self._profiles: dict[tuple[str, str], Profile] = {}

    @classmethod
    def from_ledger(cls, profiles: Iterable[LedgerProfile]) -> Observations:
        observations = cls()
        for lane, model, answers, output, share in profiles:
            observations.seed(
                lane, model, answers=answers, output_tokens=output, cached_share=share
            )
        return observations

    def get(self, lane: str, model: str) -> Profile | None:
        return self._profiles.get((lane, model))

    def add(
        self, lane: str, model: str, *, output_tokens: int, input_tokens: int, cached_tokens: int
    ) -> None:
        profile = self._profiles.get((lane, model))
        if profile is None:
            profile = self._profiles[lane, model] = Profile()
        profile.add(output_tokens, input_tokens, cached_tokens)

    def seed(
        self, lane: str, model: str, *, answers: int, output_tokens: float, cached_share: float
    ) -> None:
        """Start from aggregates read from the ledger (answers counted up to the horizon)."""
        self._profiles[lane, model] = Profile(
            min(answers, HORIZON), float(output_tokens), float(cached_share)
        )
