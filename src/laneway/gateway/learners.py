"""What routing learns from each settled request: the lane's answer profiles (for `cheapest`) and
where a Responses answer lives (for `previous_response_id`). An explicit collaborator of the
settler rather than an observer: it runs on every request, and a hook dispatch would cost the
request path a call more."""

from __future__ import annotations

from laneway.gateway.observers import Exchange
from laneway.gateway.stored_responses import ResponseHomes
from laneway.routing.observations import Observations


class RoutingLearner:
    def __init__(self, observations: Observations, homes: ResponseHomes) -> None:
        self._observations = observations
        self._homes = homes

    def learn(self, exchange: Exchange) -> None:
        """From a settled request's complete record (shadow copies teach nothing)."""
        record = exchange.record
        model = record.answering_model
        if model is None or record.shadow:
            return
        usage, lane = record.usage, record.lane
        if lane is not None and usage is not None:
            # A lane's answers, by model: output tokens and cached share, to price the next.
            self._observations.add(
                lane,
                model,
                output_tokens=usage.output_tokens,
                input_tokens=usage.input_tokens,
                cached_tokens=usage.cached_input_tokens,
            )
        response_id = exchange.response_id
        if response_id is not None and record.provider is not None:
            # Where a Responses answer was made and for whom, so a follow-up goes back there
            # and only its owner reaches it (shared with other replicas when Redis is).
            self._homes.remember(response_id, record.provider, model, record.key_id)
