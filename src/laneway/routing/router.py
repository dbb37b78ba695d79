"""routing.plan: from a request to the ordered candidates its attempts will try, and why.

    lane?  header x-laneway-lane > model "lane:<name>" or an alias > model "auto" (the key's
           default lane, else the auto rules, else auto.default) > a plain model id (no lane)
    each of the lane's candidates: kept, or skipped with the reason (circuit open, a capability
           it lacks, the context or output it cannot hold, over the lane's cost ceiling)
    order: cheapest (expected cost) | ordered (as written) | split (a sticky weighted arm first)
           then the lane's fallbacks; candidates without rate-limit headroom go last
    effort: per candidate (the lane's default and cap, and what the model accepts)

A follow-up (`previous_response_id`) goes to the provider and model that produced the response,
and nowhere else: the conversation's state lives there.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import ModelSpec
from laneway.routing.affinity import Affinity
from laneway.routing.breaker import Breakers
from laneway.routing.classify import classify
from laneway.routing.effort import effective_effort
from laneway.routing.explain import Consideration, Route
from laneway.routing.headroom import Headroom
from laneway.routing.input_size import InputSize
from laneway.routing.lane_config import AUTO, LANE_PREFIX
from laneway.routing.lanes import Lane, LaneTable, Option
from laneway.routing.observations import Observations
from laneway.upstream.providers import Candidate, Provider, candidates_for
from laneway.upstream.timeouts import Timeouts, TimeoutsConfig
from laneway.wire.errors import ApiError
from laneway.wire.features import RequestFeatures, exact_input_tokens, read_features
from laneway.wire.request import ApiRequest

_EFFORT_MEMO = 4096


@dataclass(slots=True)
class Plan:
    lane: Lane | None
    candidates: list[Candidate]
    timeouts: Timeouts
    route: Route
    tokens: dict[Candidate, int]  # rate-limit estimate per candidate (input + max output)
    # The request's routing facts, for admission (input bound, max output); set by `plan()`.
    features: RequestFeatures | None = None


class Router:
    def __init__(
        self,
        table: LaneTable,
        providers: Sequence[Provider],
        catalog: Catalog,
        *,
        breakers: Breakers,
        headroom: Headroom,
        observations: Observations,
        fallbacks: Mapping[str, Sequence[str]] | None = None,
        timeouts: TimeoutsConfig | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.table = table
        self.providers = list(providers)
        self.catalog = catalog
        self.breakers = breakers
        self.headroom = headroom
        self.observations = observations
        self.affinity = Affinity()
        self._by_name = {provider.name: provider for provider in self.providers}
        self._fallbacks = dict(fallbacks or {})
        self._timeouts = timeouts or TimeoutsConfig()
        self._rng = rng or random.Random()  # noqa: S311 - canary arms, not secrets
        # Per-request constants, computed once: timeouts by (lane, effort) and by effort, the
        # effort sent by (lane, model, requested effort). Bounded: efforts are a short list
        # (an unknown effort string still makes one entry per distinct string; see _effort).
        self._timeouts_memo: dict[tuple[str, str | None], Timeouts] = {}
        self._plain_timeouts: dict[str | None, Timeouts] = {}
        self._efforts: dict[tuple[str, str, str | None], tuple[str | None, str | None]] = {}

    def plan(
        self,
        request: ApiRequest,
        *,
        key_id: str | None = None,
        key_lane: str | None = None,
        header_lane: str | None = None,
    ) -> Plan:
        features = read_features(request.endpoint, request.body, len(request.raw))
        size = InputSize(
            features.input_upper_bound,
            features.input_estimate,
            lambda: exact_input_tokens(request.endpoint, request.body),
        )
        plan = self._route(request, features, size, key_id, key_lane, header_lane)
        plan.features = features
        return plan

    def _route(
        self,
        request: ApiRequest,
        features: RequestFeatures,
        size: InputSize,
        key_id: str | None,
        key_lane: str | None,
        header_lane: str | None,
    ) -> Plan:
        lane, via = self._lane(request, features, size, key_lane, header_lane)
        if lane is None:
            return self._plain(request, features)
        route = Route(lane.name, via, lane.policy)
        home = self._home(request)
        if home is not None:
            provider, model = home
            option = Option(provider, model, self.catalog.find(model))
            effort = self._effort(request, lane, option, route)
            candidate = Candidate(provider, model, effort)
            route.policy = "affinity"
            route.considered.append(
                Consideration(option.label, True, "previous_response_id lives here", None, effort)
            )
            return Plan(
                lane,
                [candidate],
                self._lane_timeouts(lane, effort or request.effort),
                route,
                {candidate: _rate_estimate(size.best(), features, option.max_output)},
            )
        return self._plan_lane(request, features, size, lane, route, key_id)

    # -- which lane ---------------------------------------------------------------------------

    def _lane(
        self,
        request: ApiRequest,
        features: RequestFeatures,
        size: InputSize,
        key_lane: str | None,
        header_lane: str | None,
    ) -> tuple[Lane | None, str]:
        table = self.table
        if header_lane:
            name = header_lane.removeprefix(LANE_PREFIX)
            return self._known(name, "header x-laneway-lane"), "header x-laneway-lane"
        model = request.model
        lane = table.named(model)
        if lane is not None:
            return lane, "model " + model
        if model.startswith(LANE_PREFIX):
            self._known(model[len(LANE_PREFIX) :], "model")
        if model != AUTO:
            return None, "model"
        if key_lane is not None:
            return self._known(key_lane, "the key's default lane"), "the key's default lane"
        chosen, why = classify(table.auto, request.endpoint, features, size)
        if chosen is None:
            raise ApiError(
                400,
                f"model 'auto' found no lane for this request: {why}. Name a lane "
                "(model 'lane:<name>') or a model, or add a matching rule to [auto].",
                param="model",
                code="no_matching_lane",
            )
        return self._known(chosen, why), why

    def _known(self, name: str, where: str) -> Lane:
        lane = self.table.lanes.get(name)
        if lane is None:
            known = ", ".join(sorted(self.table.lanes)) or "none"
            raise ApiError(
                404,
                f"The lane '{name}' ({where}) does not exist. Lanes: {known}.",
                param="model",
                code="lane_not_found",
            )
        return lane

    def _home(self, request: ApiRequest) -> tuple[Provider, str] | None:
        if request.previous_response_id is None:
            return None
        home = self.affinity.home_of(request.previous_response_id)
        if home is None:
            return None
        provider = self._by_name.get(home[0])
        return None if provider is None else (provider, home[1])

    # -- a plain model id ---------------------------------------------------------------------

    def _plain(self, request: ApiRequest, features: RequestFeatures) -> Plan:
        route = Route(None, "model", "model")
        timeouts = self._plain_timeouts.get(request.effort)
        if timeouts is None:
            timeouts = self._plain_timeouts[request.effort] = self._timeouts.for_effort(
                request.effort
            )
        home = self._home(request)
        if home is not None:
            candidate = Candidate(home[0], request.model)
            route.policy = "affinity"
            route.considered.append(
                Consideration(f"{request.model}@{home[0].name}", True, "previous_response_id")
            )
            spec = self.catalog.find(request.model)
            most = (spec.max_output_tokens if spec is not None else None) or 0
            need = _rate_estimate(features.input_estimate, features, most)
            return Plan(None, [candidate], timeouts, route, {candidate: need})
        fallbacks = self._fallbacks.get(request.model, ())
        kept: list[Candidate] = []
        late: list[Candidate] = []
        tokens: dict[Candidate, int] = {}
        breakers, headroom = self.breakers, self.headroom
        for candidate in candidates_for(self.providers, request.model, fallbacks):
            provider, model = candidate.provider.name, candidate.model
            label = f"{model}@{provider}"
            if not breakers.available(provider, model):
                route.considered.append(Consideration(label, False, "circuit open"))
                continue
            spec = self.catalog.find(model)
            limit = spec.max_output_tokens if spec is not None else None
            need = _rate_estimate(features.input_estimate, features, limit or 0)
            tokens[candidate] = need
            short = headroom.fits(provider, model, need)
            if short is not None:
                route.considered.append(Consideration(label, True, f"{short}; tried last"))
                late.append(candidate)
                continue
            route.considered.append(Consideration(label, True))
            kept.append(candidate)
        if not kept and not late and route.considered:
            raise _unavailable(request.model, route)
        return Plan(None, kept + late, timeouts, route, tokens)

    # -- a lane -------------------------------------------------------------------------------

    def _plan_lane(
        self,
        request: ApiRequest,
        features: RequestFeatures,
        size: InputSize,
        lane: Lane,
        route: Route,
        key_id: str | None,
    ) -> Plan:
        priced = lane.policy == "cheapest" or lane.max_cost_usd is not None
        kept: list[tuple[Option, int | None]] = []
        health_skips = 0
        for option in lane.options:
            skip, cost, health = self._check(option, lane, features, size, priced)
            route.considered.append(Consideration(option.label, skip is None, skip or "", cost))
            if skip is None:
                kept.append((option, cost))
            health_skips += health
        if lane.policy == "cheapest":
            _rank_by_cost(kept, route)
        elif lane.policy == "split":
            kept = self._split(lane, kept, request, features, key_id, route)
        order = [option for option, _ in kept]
        for option in lane.fallbacks:
            skip, cost, health = self._check(option, lane, features, size, priced)
            reason = skip or "fallback"
            route.considered.append(Consideration(option.label, skip is None, reason, cost))
            if skip is None:
                order.append(option)
            health_skips += health
        if not order:
            raise _cannot_serve(lane, route, health_skips > 0)
        first: list[Candidate] = []
        late: list[Candidate] = []
        tokens: dict[Candidate, int] = {}
        notes = {c.label: c for c in route.considered}
        for option in order:
            effort = self._effort(request, lane, option, route)
            candidate = Candidate(option.provider, option.model, effort)
            need = _rate_estimate(size.best(), features, option.max_output)
            tokens[candidate] = need
            consideration = notes[option.label]
            consideration.effort = effort or request.effort
            short = self.headroom.fits(option.provider.name, option.model, need)
            if short is not None:
                consideration.reason = f"{short}; tried last"
                late.append(candidate)
            else:
                first.append(candidate)
        candidates = first + late
        effort = candidates[0].effort or request.effort
        return Plan(lane, candidates, self._lane_timeouts(lane, effort), route, tokens)

    def _lane_timeouts(self, lane: Lane, effort: str | None) -> Timeouts:
        key = (lane.name, effort)
        timeouts = self._timeouts_memo.get(key)
        if timeouts is None:
            timeouts = self._timeouts_memo[key] = lane.timeouts.for_effort(effort)
        return timeouts

    def _check(
        self,
        option: Option,
        lane: Lane,
        features: RequestFeatures,
        size: InputSize,
        priced: bool,
    ) -> tuple[str | None, int | None, int]:
        """(why it is skipped or None, expected cost or None, 1 when skipped for health)."""
        if not self.breakers.available(option.provider.name, option.model):
            return "circuit open", None, 1
        # The common request (no hosted tools, no output cap, a body far smaller than the window)
        # fits without a closer look.
        if (
            features.capabilities
            or features.max_output_tokens is not None
            or (size.upper > option.window)
        ):
            unfit = _unfit(option, features, size)
            if unfit is not None:
                return unfit, None, 0
        cost = self._expected_cost(option, lane, features, size) if priced else None
        ceiling = lane.max_cost_pico
        if ceiling is not None:
            if cost is None:
                return "price unknown and the lane has a cost ceiling", None, 0
            if cost > ceiling:
                usd = Decimal(cost).scaleb(-12)
                return f"expected ${usd:.6f} > ceiling ${lane.max_cost_usd}", cost, 0
        return None, cost, 0

    def _expected_cost(
        self, option: Option, lane: Lane, features: RequestFeatures, size: InputSize
    ) -> int | None:
        """Expected cost in pico-USD (rounded up where a price is finer than that)."""
        spec = option.spec
        if spec is None:
            return None
        profile = self.observations.get(lane.name, option.model)
        if profile is not None:
            output, share = round(profile.output_tokens), profile.cached_share
        else:  # no history yet: the most it may write
            output, share = features.max_output_tokens or spec.max_output_tokens or 0, 0.0
        tokens = size.best()
        cached = int(tokens * share)
        rate_in, rate_cached, rate_out = option.rates
        if rate_in is None or rate_out is None or (cached and rate_cached is None):
            return self._expected_cost_decimal(spec, tokens, cached, output)
        return (tokens - cached) * rate_in + output * rate_out + cached * (rate_cached or 0)

    @staticmethod
    def _expected_cost_decimal(
        spec: ModelSpec, tokens: int, cached: int, output: int
    ) -> int | None:
        """The slow exact path, for unknown prices or prices finer than a pico-dollar."""
        prices = spec.prices
        if prices.input is None or prices.output is None:
            return None
        if cached and prices.cached_input is None:
            return None
        total = (tokens - cached) * prices.input + output * prices.output
        if cached:
            total += cached * (prices.cached_input or 0)
        return math.ceil(total * 1_000_000)  # per 1M tokens -> pico-USD

    def _split(
        self,
        lane: Lane,
        kept: list[tuple[Option, int | None]],
        request: ApiRequest,
        features: RequestFeatures,
        key_id: str | None,
        route: Route,
    ) -> list[tuple[Option, int | None]]:
        identity = features.identity or key_id
        if identity:
            digest = hashlib.blake2b(f"{lane.name}\x00{identity}".encode(), digest_size=8).digest()
            point = int.from_bytes(digest) / 2**64
            how = "sticky by " + ("user" if features.identity else "key")
        else:
            point = self._rng.random()
            how = "random: no user, safety_identifier or key"
        total = sum(lane.weights)
        arm, edge = len(lane.weights) - 1, 0.0
        for index, weight in enumerate(lane.weights):
            edge += weight / total
            if point < edge:
                arm = index
                break
        chosen = [pair for pair in kept if pair[0].arm == arm]
        label = lane.options[[o.arm for o in lane.options].index(arm)].model
        route.notes.append(f"split arm {label} ({lane.weights[arm]}/{total}, {how})")
        if not chosen:
            route.notes.append(f"arm {label} cannot serve this request; the others follow")
        return chosen + [pair for pair in kept if pair[0].arm != arm]

    def _effort(self, request: ApiRequest, lane: Lane, option: Option, route: Route) -> str | None:
        key = (lane.name, option.model, request.effort)
        known = self._efforts.get(key)
        if known is None:
            spec = option.spec
            effort, why = effective_effort(
                request.effort,
                default=lane.effort,
                maximum=lane.max_effort,
                supported=spec.reasoning_efforts if spec is not None else None,
            )
            known = (effort, None if why is None else f"effort for {option.model}: {why}")
            if len(self._efforts) < _EFFORT_MEMO:  # client strings: never let them grow it
                self._efforts[key] = known
        effort, note = known
        if note is None:
            return None  # as the request has it
        if note not in route.notes:
            route.notes.append(note)
        return effort


def _rate_estimate(input_tokens: int, features: RequestFeatures, model_max_output: int) -> int:
    """Tokens a request counts against a rate limit: input plus the most it may write, as
    OpenAI (and the emulator) estimate it when admitting a request."""
    return input_tokens + (features.max_output_tokens or model_max_output)


def _rank_by_cost(kept: list[tuple[Option, int | None]], route: Route) -> None:
    # Unknown costs last (an unknown price is never taken as zero); ties keep the written order.
    kept.sort(key=lambda pair: (pair[1] is None, pair[1] or 0))
    for consideration in route.considered:
        if consideration.kept and consideration.expected_pico is None:
            consideration.reason = "cost unknown (a price is unknown): ranked last"


def _unfit(option: Option, features: RequestFeatures, size: InputSize) -> str | None:
    """Why the model cannot take this request (a capability, its output or window), or None."""
    spec = option.spec
    for capability in sorted(features.capabilities):
        if spec is None:
            return f"not in the catalog, so {capability} is unconfirmed"
        supported = spec.capabilities.get(capability)
        if supported is not True:
            return f"{capability} {'unknown' if supported is None else 'unsupported'}"
    if spec is None:
        return None
    max_output = features.max_output_tokens
    limit = spec.max_output_tokens
    if max_output is not None and limit is not None and max_output > limit:
        return f"max output {max_output:,} > the model's {limit:,}"
    window = spec.context_window
    if window is not None and not size.at_most(window - (max_output or 0)):
        output = f" + {max_output:,} output" if max_output else ""
        return f"context: {size.exact():,} input{output} > {window:,}"
    return None


def _cannot_serve(lane: Lane, route: Route, health: bool) -> ApiError:
    reasons = "; ".join(f"{c.label}: {c.reason}" for c in route.considered if not c.kept)
    if health:
        return ApiError(
            503,
            f"No candidate of lane '{lane.name}' is available now ({reasons}).",
            type="server_error",
            code="lane_unavailable",
        )
    return ApiError(
        400,
        f"No candidate of lane '{lane.name}' can serve this request ({reasons}).",
        param="model",
        code="lane_cannot_serve",
    )


def _unavailable(model: str, route: Route) -> ApiError:
    reasons = "; ".join(f"{c.label}: {c.reason}" for c in route.considered)
    return ApiError(
        503,
        f"The model '{model}' is not available now ({reasons}).",
        type="server_error",
        code="model_unavailable",
    )
