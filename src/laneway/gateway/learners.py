"""What routing learns from settled requests, fed through the observer seam: each lane's answer
profiles (for `cheapest`) and where each Responses answer lives (for `previous_response_id`)."""

from __future__ import annotations

from laneway.gateway.observers import Bodies, Exchange, Observer
from laneway.routing.affinity import Affinity
from laneway.routing.observations import Observations


class ProfileLearner(Observer):
    """A lane's answers, by model: output tokens and cached share, for pricing the next."""

    def __init__(self, observations: Observations) -> None:
        self._observations = observations

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        record = exchange.record
        usage = record.usage
        lane, model = record.lane, record.answering_model
        if lane is None or usage is None or model is None or record.shadow:
            return
        self._observations.add(
            lane,
            model,
            output_tokens=usage.output_tokens,
            input_tokens=usage.input_tokens,
            cached_tokens=usage.cached_input_tokens,
        )


class AffinityLearner(Observer):
    """Where each Responses answer was made, so a follow-up goes back there."""

    def __init__(self, affinity: Affinity) -> None:
        self._affinity = affinity

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        response_id = exchange.response_id
        if response_id is not None:
            record = exchange.record
            if record.provider is not None and record.answering_model is not None:
                self._affinity.remember(response_id, record.provider, record.answering_model)
