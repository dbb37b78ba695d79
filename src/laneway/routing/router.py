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

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from laneway.pricing.catalog import Catalog
from laneway.routing.affinity import Affinity
from laneway.routing.classify import classify
from laneway.routing.effort import effective_effort
from laneway.routing.embedding_route import refuse_lane
from laneway.routing.expected_cost import expected_cost, over_ceiling, rate_estimate
from laneway.routing.explain import Consideration, Route
from laneway.routing.input_size import InputSize
from laneway.routing.lane_config import AUTO, LANE_PREFIX
from laneway.routing.lanes import Lane, LaneTable, Option
from laneway.routing.names import ServedNames
from laneway.routing.observations import Observations, Profile
from laneway.routing.route_errors import cannot_serve, check_output, unavailable
from laneway.upstream.health import Health
from laneway.upstream.providers import Candidate, Provider, candidates_for
from laneway.upstream.timeouts import Timeouts, TimeoutsConfig
from laneway.wire.errors import ApiError
from laneway.wire.features import (
    RequestFeatures,
    embedding_features,
    exact_input_tokens,
    output_param,
    output_too_large,
    read_features,
)
from laneway.wire.request import ApiRequest

_EFFORT_MEMO = 4096
_CIRCUIT_OPEN = "circuit open"  # the one skip that is about health (503, not 400)
_UNPRICED = math.inf  # ranks after every expected cost

# A lane's option kept for this request: (rank, position in options then fallbacks, option);
# the rank is its expected cost under `cheapest` (_UNPRICED when unknown).
_Kept = tuple[int | float, int, Option]
# The same in one pass (`_plan_ordinary`), with its candidate and whether it goes last.
_Ordinary = tuple[int | float, int, Option, Candidate, bool]
# Per option: it, the candidate to send (at its effort) and the route note on that effort.
_Choice = tuple[Option, Candidate, str | None]
_Choices = tuple[tuple[_Choice, ...], bool]  # and whether any has a note
_CANDIDATE = itemgetter(3)  # of an _Ordinary


@dataclass(slots=True)
class Plan:
    lane: Lane | None
    candidates: list[Candidate]
    timeouts: Timeouts
    route: Route
    tokens: dict[Candidate, int]  # rate-limit estimate per candidate (input + max output)
    # The request's routing facts, for admission (input bound, max output); set by `plan()`.
    features: RequestFeatures | None = None
    effort: str | None = None  # the effort the request named (a candidate's None means this)
    # The output cap laneway sets on the request (admission, under a budget): None, none.
    output_cap: int | None = None
    hint: str = ""  # for a model laneway does not know: " Did you mean ...?" (or "")


class Router:
    def __init__(
        self,
        table: LaneTable,
        providers: Sequence[Provider],
        catalog: Catalog,
        *,
        health: Health,
        observations: Observations,
        affinity: Affinity,
        fallbacks: Mapping[str, Sequence[str]] | None = None,
        timeouts: TimeoutsConfig | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.table = table
        self.providers = list(providers)
        self.catalog = catalog
        # Read here, written elsewhere: health by the attempts that reach upstreams, profiles
        # and homes by the gateway's observers as requests settle.
        self._breakers = health.breakers
        self._headroom = health.headroom
        self._observations = observations
        self._affinity = affinity
        self._by_name = {provider.name: provider for provider in self.providers}
        self.names = ServedNames(catalog, self.providers)
        self._fallbacks = dict(fallbacks or {})
        self._timeouts = timeouts or TimeoutsConfig()
        self._rng = rng or random.Random()  # noqa: S311 - canary arms, not secrets
        # Per-request constants, computed once: timeouts by (lane, effort) and by effort, the
        # effort sent by (lane, model, requested effort). Bounded: efforts are a short list
        # (an unknown effort string still makes one entry per distinct string; see _effort).
        self._timeouts_memo: dict[tuple[str, str | None], Timeouts] = {}
        self._plain_timeouts: dict[str | None, Timeouts] = {}
        self._efforts: dict[tuple[str, str, str | None], tuple[str | None, str | None]] = {}
        self._lane_choices: dict[tuple[Lane, str | None], _Choices] = {}
        # The common request is planned in one pass (`_plan_ordinary`), with the outcome of the
        # general path (`_plan_lane`); a property test turns this off to hold the two together.
        self.one_pass = True

    def plan(
        self,
        request: ApiRequest,
        *,
        key_id: str | None = None,
        key_lane: str | None = None,
        header_lane: str | None = None,
    ) -> Plan:
        if request.endpoint == "embeddings":  # a model named, never a lane
            refuse_lane(request.model, header_lane, self.table)
            features = embedding_features(len(request.raw))
            plan = self._plain(request, features)
            plan.features = features
            return plan
        features = read_features(request.endpoint, request.body, len(request.raw))
        size = InputSize(
            features.input_upper_bound,
            features.input_estimate,
            lambda: exact_input_tokens(request.endpoint, request.body),
        )
        sent_as = None if request.model in self.names else self.names.rename(request, self.table)
        plan = self._route(request, features, size, key_id, key_lane, header_lane)
        if sent_as is not None:
            plan.route.notes.append(f"model '{sent_as}' read as '{request.model}'")
        elif plan.lane is None and request.model not in self.names:
            plan.hint = self.names.hint(request.model)
        plan.features = features
        plan.effort = request.effort
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
        route = Route(lane.name, via, lane.policy.name)
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
                {candidate: rate_estimate(size.best(), features, option.max_output)},
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
        home = self._affinity.home_of(request.previous_response_id)
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
            model_max = (spec.max_output_tokens if spec is not None else None) or 0
            need = rate_estimate(features.input_estimate, features, model_max)
            return Plan(None, [candidate], timeouts, route, {candidate: need})
        most = features.max_output_tokens
        if most is not None:
            check_output(request, most, self.catalog.find(request.model))
        fallbacks = self._fallbacks.get(request.model, ())
        kept: list[Candidate] = []
        late: list[Candidate] = []
        tokens: dict[Candidate, int] = {}
        breakers, headroom = self._breakers, self._headroom
        rows = route.rows  # a fresh route: nothing considered yet
        for candidate in candidates_for(self.providers, request.model, fallbacks):
            provider, model = candidate.provider.name, candidate.model
            label = f"{model}@{provider}"
            if breakers.tripped and not breakers.available(provider, model):
                rows.append((label, False, _CIRCUIT_OPEN, None, None))
                continue
            spec = self.catalog.find(model)
            limit = spec.max_output_tokens if spec is not None else None
            if most is not None and limit is not None and most > limit:  # a fallback
                rows.append((label, False, f"max output {most:,} > {limit:,}", None, None))
                continue
            need = rate_estimate(features.input_estimate, features, limit or 0)
            tokens[candidate] = need
            short = headroom.fits(provider, model, need)
            if short is not None:
                rows.append((label, True, f"{short}; tried last", None, None))
                late.append(candidate)
                continue
            rows.append((label, True, "", None, None))
            kept.append(candidate)
        if not kept and not late and rows:
            raise unavailable(request.model, route)
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
        most = features.max_output_tokens
        # Most requests need no fit test on any option: planned in one pass.
        if (
            self.one_pass
            and lane.distinct
            and not features.capabilities
            and (most is None or most <= lane.output_limit)
            and size.upper + (most or 0) <= lane.window
        ):
            return self._plan_ordinary(request, features, size.best(), lane, route, key_id)
        if most is not None and lane.output_most is not None and most > lane.output_most[0]:
            limit, model = lane.output_most
            raise output_too_large(output_param(request.endpoint, request.body), most, model, limit)
        considered = route.considered
        # A lane's option at `position` (options, then fallbacks) is explained at
        # considered[position] until `note_at` says otherwise: every one gets its line, in order.
        history = self._observations.of_lane(lane.name) if lane.priced else None
        closer = bool(features.capabilities) or most is not None
        unknown = lane.policy.unknown_cost
        kept: list[_Kept] = []
        health = False
        for position, option in enumerate(lane.options):
            skip, cost = self._check(option, lane, features, size, history, closer)
            if skip is None:
                # Unknown costs rank last (an unknown price is never taken as zero); equal costs
                # keep the written order.
                reason = "" if cost is not None else unknown
                considered.append(Consideration(option.label, True, reason, cost))
                kept.append((_UNPRICED if cost is None else cost, position, option))
            else:
                considered.append(Consideration(option.label, False, skip, cost))
                health = health or skip is _CIRCUIT_OPEN
        kept = lane.policy.order(lane, kept, features.identity, key_id, route, self._rng.random)
        position = len(lane.options)
        for option in lane.fallbacks:
            skip, cost = self._check(option, lane, features, size, history, closer)
            considered.append(Consideration(option.label, skip is None, skip or "fallback", cost))
            if skip is None:
                kept.append((0, position, option))
            else:
                health = health or skip is _CIRCUIT_OPEN
            position += 1
        if not kept:
            raise cannot_serve(lane, route, health)
        return self._send_order(request, most, size.best(), lane, route, kept)

    def _send_order(
        self,
        request: ApiRequest,
        most: int | None,
        tokens: int,
        lane: Lane,
        route: Route,
        kept: list[_Kept],
    ) -> Plan:
        """The kept options as candidates, at their efforts; those without rate-limit headroom
        go last."""
        considered = route.considered
        choices, _ = self._choices(request, lane)
        note_at = lane.note_at
        notes = route.notes
        fits = self._headroom.fits
        first: list[Candidate] = []
        late: list[Candidate] = []
        needs: dict[Candidate, int] = {}
        for _, position, option in kept:
            _, candidate, note = choices[position]
            if note is not None and note not in notes:
                notes.append(note)
            need = needs[candidate] = tokens + (most or option.max_output)
            consideration = considered[note_at[position]]
            consideration.effort = candidate.effort or request.effort
            short = fits(option.provider.name, option.model, need)
            if short is not None:
                consideration.reason = f"{short}; tried last"
                late.append(candidate)
            else:
                first.append(candidate)
        candidates = first + late
        effort = candidates[0].effort or request.effort
        return Plan(lane, candidates, self._lane_timeouts(lane, effort), route, needs)

    def _plan_ordinary(
        self,
        request: ApiRequest,
        features: RequestFeatures,
        tokens: int,
        lane: Lane,
        route: Route,
        key_id: str | None,
    ) -> Plan:
        """`_plan_lane` in one pass for the common request (no hosted tools, within every
        option's window and max output, no label twice), with the same outcome."""
        rows = route.rows  # a fresh route: nothing considered yet
        most = features.max_output_tokens
        history = self._observations.of_lane(lane.name) if lane.priced else None
        choices, noted = self._lane_choices.get((lane, request.effort)) or self._choices(
            request, lane
        )
        # `available` is 0 (falsy) while every breaker is closed: nothing to look up.
        available, fits = self._breakers.tripped and self._breakers.available, self._headroom.fits
        ceiling = lane.max_cost_pico
        unknown = lane.policy.unknown_cost
        requested = request.effort
        fallback = len(lane.options)  # the first fallback's position
        needs: dict[Candidate, int] = {}
        kept: list[_Ordinary] = []
        health = late = False
        for position, (option, candidate, _) in enumerate(choices):
            model = option.model
            provider = candidate.provider.name
            if available and not available(provider, model):
                rows.append((option.label, False, _CIRCUIT_OPEN, None, None))
                health = True
                continue
            cost = None
            if history is not None:
                cost = expected_cost(option, history.get(model), tokens, most)
                if ceiling is not None and (over := over_ceiling(lane, cost)) is not None:
                    rows.append((option.label, False, over, cost, None))
                    continue
            need = needs[candidate] = tokens + (most or option.max_output)
            short = fits(provider, model, need)
            if short is not None:
                reason = f"{short}; tried last"
                late = True
            elif position >= fallback:
                reason = "fallback"
            else:
                reason = "" if cost is not None else unknown
            rows.append((option.label, True, reason, cost, candidate.effort or requested))
            rank = _UNPRICED if cost is None else cost
            kept.append((rank, position, option, candidate, short is not None))
        candidates = self._ordinary_order(
            lane, kept, (features.identity, key_id), route, choices if noted else None, late
        )
        if not candidates:  # after the split arm is drawn, as `_plan_lane` draws it
            raise cannot_serve(lane, route, health)
        effort = candidates[0].effort or requested
        timeouts = self._timeouts_memo.get((lane.name, effort)) or self._lane_timeouts(lane, effort)
        return Plan(lane, candidates, timeouts, route, needs)

    def _ordinary_order(
        self,
        lane: Lane,
        kept: list[_Ordinary],
        who: tuple[str | None, str | None],
        route: Route,
        noted: tuple[_Choice, ...] | None,
        late: bool,
    ) -> list[Candidate]:
        """The kept options in the policy's order, then the kept fallbacks as written; those
        without rate-limit headroom (`late`) last. `who`: the request's user and key; `noted`:
        the choices, when their effort notes go into the route."""
        user, key_id = who
        draw = self._rng.random
        if not lane.fallbacks:
            order = lane.policy.order(lane, kept, user, key_id, route, draw)
        else:
            fallback = len(lane.options)
            options = [entry for entry in kept if entry[1] < fallback]
            order = lane.policy.order(lane, options, user, key_id, route, draw)
            order += kept[len(options) :]
        if noted is not None:  # the effort notes, in the order the candidates are tried
            _note_efforts(route, order, noted)
        if late:
            return [e[3] for e in order if not e[4]] + [e[3] for e in order if e[4]]
        return list(map(_CANDIDATE, order))

    def _choices(self, request: ApiRequest, lane: Lane) -> _Choices:
        """Per option, then fallback: the candidate at the effort it is sent (None: as the
        request has it) and the note saying why that effort, when it changed; and whether any
        has a note. Made once per lane and requested effort, as `_effort` decides."""
        key = (lane, request.effort)
        choices = self._lane_choices.get(key)
        if choices is None:
            made: list[_Choice] = []
            for option in lane.everything:
                effort, note = self._effort_of(request.effort, lane, option)
                made.append((option, Candidate(option.provider, option.model, effort), note))
            choices = (tuple(made), any(note is not None for _, _, note in made))
            if len(self._lane_choices) < _EFFORT_MEMO:  # client strings: never let them grow it
                self._lane_choices[key] = choices
        return choices

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
        history: Mapping[str, Profile] | None,
        closer: bool,
    ) -> tuple[str | None, int | None]:
        """(why it is skipped or None, expected cost in pico-USD or None). `history`: the lane's
        profiles when it prices its candidates, else None; `closer`: the request has hosted
        tools or an output cap, so every option's fit is tested."""
        if not self._breakers.available(option.provider.name, option.model):
            return _CIRCUIT_OPEN, None
        # The common request (no hosted tools, no output cap, a body far smaller than the window)
        # fits without a closer look.
        if closer or size.upper > option.window:
            unfit = _unfit(option, features, size)
            if unfit is not None:
                return unfit, None
        if history is None:  # neither cheapest nor a cost ceiling: no price needed
            return None, None
        # size.best(): exact once any option's fit test has counted it.
        profile = history.get(option.model)
        cost = expected_cost(option, profile, size.best(), features.max_output_tokens)
        return over_ceiling(lane, cost), cost

    def _effort(self, request: ApiRequest, lane: Lane, option: Option, route: Route) -> str | None:
        effort, note = self._effort_of(request.effort, lane, option)
        if note is not None and note not in route.notes:
            route.notes.append(note)
        return effort

    def _effort_of(
        self, requested: str | None, lane: Lane, option: Option
    ) -> tuple[str | None, str | None]:
        """(the effort to send, the note saying why), or (None, None): as the request has it."""
        key = (lane.name, option.model, requested)
        known = self._efforts.get(key)
        if known is None:
            spec = option.spec
            effort, why = effective_effort(
                requested,
                default=lane.effort,
                maximum=lane.max_effort,
                supported=spec.reasoning_efforts if spec is not None else None,
            )
            known = (None, None) if why is None else (effort, f"effort for {option.model}: {why}")
            if len(self._efforts) < _EFFORT_MEMO:  # client strings: never let them grow it
                self._efforts[key] = known
        return known


def _note_efforts(route: Route, order: list[_Ordinary], choices: tuple[_Choice, ...]) -> None:
    notes = route.notes
    for entry in order:
        note = choices[entry[1]][2]
        if note is not None and note not in notes:
            notes.append(note)


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
