"""What a lane's answers have looked like per model: output tokens and the cached share of input.

The `cheapest` policy prices a request before it is sent. Its input is known; its output is not,
so it uses what this lane's requests on that model produced before (seeded from the ledger at
start-up, then updated as requests settle). Before any history, the caller falls back on the
request's max output (or the model's): a pessimistic guess that history soon replaces.

Averages are exact means over the first `HORIZON` answers, then exponentially weighted with
weight 1/HORIZON, so a lane whose prompts change is followed within a few hundred requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

HORIZON = 200
_SETTLED_WEIGHT = 1.0 / HORIZON
HISTORY_S = 7 * 86_400  # how far back the ledger seeds the profiles at start-up

# (lane, model, answers, mean output tokens, mean cached share), as the ledger aggregates them
LedgerProfile = tuple[str, str, int, float, float]


@dataclass(slots=True)
class Profile:
    answers: int = 0
    output_tokens: float = 0.0  # mean output tokens (reasoning included) per answer
    cached_share: float = 0.0  # mean share of input tokens that were cached

    def add(self, output_tokens: int, input_tokens: int, cached_tokens: int) -> None:
        answers = self.answers = self.answers + 1
        weight = 1.0 / answers if answers < HORIZON else _SETTLED_WEIGHT
        self.output_tokens += (output_tokens - self.output_tokens) * weight
        if cached_tokens or self.cached_share:  # else the share stays exactly 0.0
            share = cached_tokens / input_tokens if input_tokens > 0 else 0.0
            self.cached_share += (share - self.cached_share) * weight


_NO_PROFILES: Mapping[str, Profile] = MappingProxyType({})


class Observations:
    """Profiles per (lane, model). One event loop; not thread-safe."""

    def __init__(self) -> None:
        # By lane, then model: pricing a lane's candidates takes one lookup per request.
        self._lanes: dict[str, dict[str, Profile]] = {}

    @classmethod
    def from_ledger(cls, profiles: Iterable[LedgerProfile]) -> Observations:
        observations = cls()
        for lane, model, answers, output, share in profiles:
            observations.seed(
                lane, model, answers=answers, output_tokens=output, cached_share=share
            )
        return observations

    def get(self, lane: str, model: str) -> Profile | None:
        return self.of_lane(lane).get(model)

    def of_lane(self, lane: str) -> Mapping[str, Profile]:
        """The lane's profiles by model, as they are now (a live view: read it at once)."""
        return self._lanes.get(lane, _NO_PROFILES)

    def add(
        self, lane: str, model: str, *, output_tokens: int, input_tokens: int, cached_tokens: int
    ) -> None:
        profiles = self._lanes.get(lane)
        if profiles is None:
            profiles = self._lanes[lane] = {}
        profile = profiles.get(model)
        if profile is None:
            profile = profiles[model] = Profile()
        profile.add(output_tokens, input_tokens, cached_tokens)

    def seed(
        self, lane: str, model: str, *, answers: int, output_tokens: float, cached_share: float
    ) -> None:
        """Start from aggregates read from the ledger (answers counted up to the horizon)."""
        self._lanes.setdefault(lane, {})[model] = Profile(
            min(answers, HORIZON), float(output_tokens), float(cached_share)
        )
