"""Lanes ready to route: config bound to providers and catalog entries, checked as a whole.

Building is where a lane's mistakes surface, each named by lane and field: a provider that is
not configured, a model no provider serves, an alias two lanes claim, an auto rule naming a lane
that does not exist. The shipped lanes (`lanes.toml`) are held to a softer rule: a shipped
candidate no configured provider serves is dropped with a warning (a gateway in front of a local
server only should still start), and a shipped lane left with none is dropped whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

from laneway.config_file import load_toml
from laneway.errors import ConfigError
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import ModelSpec
from laneway.pricing.money import pico_per_token
from laneway.routing.lane_config import (
    AUTO,
    LANE_PREFIX,
    AutoConfig,
    CandidateConfig,
    LaneConfig,
    LanesFile,
    ShadowConfig,
)
from laneway.routing.policies import POLICIES, Policy
from laneway.upstream.providers import Provider
from laneway.upstream.timeouts import TimeoutsConfig

SHIPPED_LANES = Path(str(files("laneway.routing").joinpath("lanes.toml")))

Warn = Callable[[str], None]


def _rate(price: Decimal | None) -> int | None:
    """A per-1M-token price as whole pico-USD per token, when that is exact (None if not)."""
    return None if price is None else pico_per_token(price)


@dataclass(frozen=True, slots=True, eq=False)
class Option:
    """One way to serve a lane: a model on a provider. `arm` is its candidate's index (split)."""

    provider: Provider
    model: str
    spec: ModelSpec | None  # None: the catalog does not know the model
    arm: int = 0
    label: str = field(init=False)  # "model@provider"
    # Prices as integers (pico-USD per token: input, cached input, output) so ranking a request
    # is integer arithmetic, exact; None where a price is unknown or finer than a pico-dollar.
    rates: tuple[int | None, int | None, int | None] = field(init=False)
    # Input and output prices both known: a request can be priced (else its cost is unknown).
    known_price: bool = field(init=False)
    window: float = field(init=False)  # the context window; infinite when unknown
    max_output: int = field(init=False)  # the most it writes, for rate-limit estimates; 0: unknown

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", f"{self.model}@{self.provider.name}")
        spec = self.spec
        window = spec.context_window if spec is not None else None
        object.__setattr__(self, "window", float("inf") if window is None else window)
        limit = spec.max_output_tokens if spec is not None else None
        object.__setattr__(self, "max_output", limit or 0)
        prices = self.spec.prices if self.spec is not None else None
        rates = (
            (_rate(prices.input), _rate(prices.cached_input), _rate(prices.output))
            if prices is not None
            else (None, None, None)
        )
        object.__setattr__(self, "rates", rates)
        known = prices is not None and prices.input is not None and prices.output is not None
        object.__setattr__(self, "known_price", known)


@dataclass(frozen=True, slots=True)
class Shadow:
    options: tuple[Option, ...]
    share: float
    max_usd_per_day: Decimal | None
    max_in_flight: int


@dataclass(frozen=True, slots=True, eq=False)
class Lane:
    name: str
    description: str
    policy: Policy
    options: tuple[Option, ...]
    weights: tuple[int, ...]  # per arm (split); empty otherwise
    fallbacks: tuple[Option, ...]
    effort: str | None
    max_effort: str | None
    max_cost_usd: Decimal | None
    timeouts: TimeoutsConfig
    aliases: tuple[str, ...] = ()
    shadow: Shadow | None = None
    shipped: bool = False
    output_allowance: int | None = None  # laneway's output cap under a budget, at effort none
    max_cost_pico: int | None = field(init=False)  # the ceiling as expected costs are ranked
    priced: bool = field(init=False)  # routing needs each candidate's expected cost
    everything: tuple[Option, ...] = field(init=False)  # the options, then the fallbacks
    # For each of `everything`: the line of a route's `considered` that gets its effort and
    # headroom note (the last with its label: so it always was for a model listed twice).
    note_at: tuple[int, ...] = field(init=False)
    distinct: bool = field(init=False)  # no label twice: each is explained where it stands
    # The smallest context window and max output among the catalog's figures for `everything`
    # (infinite when none is known): a request within both fits every one without a closer look.
    window: float = field(init=False)
    output_limit: float = field(init=False)
    # The largest known max output and its model: a cap above it fits no option (a 400).
    output_most: tuple[int, str] | None = field(init=False)

    def __post_init__(self) -> None:
        ceiling = self.max_cost_usd
        # Rounded down: a cost over the ceiling by less than a pico-dollar is still over it.
        pico = None if ceiling is None else math.floor(ceiling.scaleb(12))
        object.__setattr__(self, "max_cost_pico", pico)
        object.__setattr__(self, "priced", self.policy.priced or ceiling is not None)
        everything = self.options + self.fallbacks
        object.__setattr__(self, "everything", everything)
        last = {option.label: at for at, option in enumerate(everything)}
        note_at = tuple(last[option.label] for option in everything)
        object.__setattr__(self, "note_at", note_at)
        object.__setattr__(self, "distinct", note_at == tuple(range(len(everything))))
        object.__setattr__(self, "window", min((o.window for o in everything), default=math.inf))
        limits = [o.spec.max_output_tokens for o in everything if o.spec is not None]
        known = [limit for limit in limits if limit is not None]
        object.__setattr__(self, "output_limit", min(known, default=math.inf))
        most = [(o.spec.max_output_tokens, o.model) for o in everything if o.spec is not None]
        # Only when every option's is known: an unknown one may take any cap.
        whole = len(most) == len(everything) and all(limit is not None for limit, _ in most)
        object.__setattr__(self, "output_most", max(most) if whole and most else None)


@dataclass(slots=True)
class LaneTable:
    lanes: dict[str, Lane] = field(default_factory=dict)
    names: dict[str, Lane] = field(default_factory=dict)  # "lane:x" and aliases
    auto: AutoConfig = field(default_factory=AutoConfig)

    def named(self, model: str) -> Lane | None:
        """The lane a request's `model` names ("lane:<name>" or an alias), if any."""
        return self.names.get(model)


def load_lanes_file(path: Path) -> LanesFile:
    return load_toml(LanesFile, path, ConfigError)


def lane_names(lanes: Mapping[str, LaneConfig], shipped_lanes: bool) -> frozenset[str]:
    """Every lane configured, the shipped ones included unless turned off (for checking names
    given elsewhere, such as a virtual key's lanes, without binding providers)."""
    names = set(lanes)
    if shipped_lanes:
        names.update(load_lanes_file(SHIPPED_LANES).lanes)
    return frozenset(names)


def build_lanes(
    lanes: Mapping[str, LaneConfig],
    auto: AutoConfig | None,
    providers: Sequence[Provider],
    catalog: Catalog,
    *,
    timeouts: TimeoutsConfig,
    shipped_lanes: bool,
    warn: Warn,
    shipped: LanesFile | None = None,
    unknown_task_lane: str | None = None,
) -> LaneTable:
    """Bind the configured lanes (over the shipped ones unless `shipped_lanes` is off) to
    providers. `auto`: the configured auto rules; None when not configured (the shipped ones
    apply, for the lanes still there)."""
    if shipped is None and shipped_lanes:
        shipped = load_lanes_file(SHIPPED_LANES)
    configured: dict[str, tuple[LaneConfig, bool]] = {}
    if shipped is not None:
        configured.update((name, (lane, True)) for name, lane in shipped.lanes.items())
    configured.update((name, (lane, False)) for name, lane in lanes.items())
    own_auto = auto is not None
    if auto is None:
        auto = shipped.auto if shipped is not None else AutoConfig()
    table = LaneTable()
    base_timeouts = timeouts
    for name, (lane_config, is_shipped) in configured.items():
        where = f"lanes.{name}"
        lane = _build_lane(
            name, lane_config, providers, catalog, base_timeouts, where, is_shipped, warn
        )
        if lane is not None:
            table.lanes[name] = lane
    if not own_auto:  # the shipped rules: those naming a shipped lane left out go too
        rules = tuple(rule for rule in auto.rules if rule.lane in table.lanes)
        default = auto.default if auto.default in table.lanes else None
        unknown = auto.unknown_task if auto.unknown_task in table.lanes else None
        auto = AutoConfig(rules=rules, default=default, unknown_task=unknown)
    if unknown_task_lane is not None:
        if unknown_task_lane not in table.lanes:
            raise ConfigError(f"routing.unknown_task_lane: no lane named {unknown_task_lane!r}")
        auto = auto.model_copy(update={"unknown_task": unknown_task_lane})
    table.auto = auto
    _name_lanes(table)
    for index, rule in enumerate(auto.rules):
        if rule.lane not in table.lanes:
            raise ConfigError(f"auto.rules[{index}].lane: no lane named {rule.lane!r}")
    for entry, lane_name in (("default", auto.default), ("unknown_task", auto.unknown_task)):
        if lane_name is not None and lane_name not in table.lanes:
            raise ConfigError(f"auto.{entry}: no lane named {lane_name!r}")
    return table


def _name_lanes(table: LaneTable) -> None:
    """Each lane under "lane:<name>" and its aliases; a reserved or taken alias is an error."""
    for lane in table.lanes.values():
        for alias in (LANE_PREFIX + lane.name, *lane.aliases):
            if alias == AUTO or (
                alias.startswith(LANE_PREFIX) and alias != LANE_PREFIX + lane.name
            ):
                raise ConfigError(f"lanes.{lane.name}.aliases: {alias!r} is reserved")
            other = table.names.get(alias)
            if other is not None:
                raise ConfigError(
                    f"lanes.{lane.name}.aliases: {alias!r} already names lane {other.name!r}"
                )
            table.names[alias] = lane


def check_key_lanes(table: LaneTable, key_lanes: Mapping[str, str]) -> None:
    for lane in key_lanes.values():
        if lane not in table.lanes:
            raise ConfigError(f"server.api_keys: a key's lane {lane!r} is not a lane")


def check_lane_names(table: LaneTable, names: Iterable[str], where: str) -> None:
    """A section that names lanes (e.g. `capture.lanes`) names lanes that exist: a misspelt
    one would silently match nothing."""
    for name in names:
        if name not in table.lanes:
            known = ", ".join(sorted(table.lanes)) or "none"
            raise ConfigError(f"{where}: {name!r} is not a lane (lanes: {known})")


def _build_lane(
    name: str,
    config: LaneConfig,
    providers: Sequence[Provider],
    catalog: Catalog,
    base_timeouts: TimeoutsConfig,
    where: str,
    shipped: bool,
    warn: Warn,
) -> Lane | None:
    options: list[Option] = []
    weights: list[int] = []
    for index, candidate in enumerate(config.candidates):
        found = _options(candidate, providers, catalog, f"{where}.candidates[{index}]", shipped)
        if isinstance(found, str):
            warn(f"shipped lane {name!r}: {found}; candidate left out")
            continue
        arm = len(weights)
        options += [Option(o.provider, o.model, o.spec, arm) for o in found]
        weights.append(candidate.weight or 0)
    if not options:
        warn(f"shipped lane {name!r}: no configured provider serves its models; lane left out")
        return None
    policy = POLICIES[config.policy]()
    if policy.weighted and not sum(weights):
        raise ConfigError(f"{where}: every candidate with weight > 0 was left out")
    fallbacks: list[Option] = []
    seen = {(o.provider.name, o.model) for o in options}
    for index, model in enumerate(config.fallbacks):
        found = _options(
            CandidateConfig(model=model), providers, catalog, f"{where}.fallbacks[{index}]", shipped
        )
        if isinstance(found, str):
            warn(f"shipped lane {name!r}: {found}; fallback left out")
            continue
        for option in found:  # a fallback that is already a candidate is tried once
            if (option.provider.name, option.model) not in seen:
                seen.add((option.provider.name, option.model))
                fallbacks.append(option)
    shadow = None
    if config.shadow is not None:
        shadow = _shadow(config.shadow, providers, catalog, f"{where}.shadow", shipped, warn)
    timeouts = config.timeouts.over(base_timeouts) if config.timeouts else base_timeouts
    return Lane(
        name=name,
        description=config.description,
        policy=policy,
        options=tuple(options),
        weights=tuple(weights) if policy.weighted else (),
        fallbacks=tuple(fallbacks),
        effort=config.effort,
        max_effort=config.max_effort,
        max_cost_usd=config.max_cost_usd,
        timeouts=timeouts,
        aliases=config.aliases,
        shadow=shadow,
        shipped=shipped,
        output_allowance=config.output_allowance,
    )


def _shadow(
    config: ShadowConfig,
    providers: Sequence[Provider],
    catalog: Catalog,
    where: str,
    shipped: bool,
    warn: Warn,
) -> Shadow | None:
    found = _options(
        CandidateConfig(model=config.model, provider=config.provider),
        providers,
        catalog,
        where,
        shipped,
    )
    if isinstance(found, str):
        warn(f"shipped {where}: {found}; shadow left out")
        return None
    return Shadow(tuple(found), config.share, config.max_usd_per_day, config.max_in_flight)


def _options(
    candidate: CandidateConfig,
    providers: Sequence[Provider],
    catalog: Catalog,
    where: str,
    shipped: bool,
) -> list[Option] | str:
    """The candidate on every provider serving it; a reason (shipped) or ConfigError if none."""
    spec = catalog.find(candidate.model)
    if candidate.provider is not None:
        chosen = [p for p in providers if p.name == candidate.provider]
        if not chosen:
            problem = f"provider {candidate.provider!r} is not configured"
            if shipped:
                return problem
            raise ConfigError(f"{where}.provider: {problem}")
    else:
        chosen = list(providers)
    serving = [p for p in chosen if p.serves(candidate.model)]
    if not serving:
        problem = f"no configured provider serves model {candidate.model!r}"
        if shipped:
            return problem
        raise ConfigError(f"{where}.model: {problem}")
    return [Option(provider, candidate.model, spec) for provider in serving]
