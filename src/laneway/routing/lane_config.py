"""Lanes as written in config: typed and checked on their own; cross-checks (providers, models,
lane names in rules) happen when lanes are built (`laneway.routing.lanes`).

    [lanes.coding]
    description = "Standard coding tasks"
    aliases = ["coder"]                       # `model: "coder"` reaches this lane
    policy = "cheapest"                       # cheapest | ordered | split
    candidates = ["gpt-5.4-mini", { model = "gpt-5.4", provider = "openai" }]
    fallbacks = ["gpt-5.2"]                   # tried after every candidate, in order
    effort = "none"                           # when the request names no effort
    max_effort = "medium"                     # never sent higher than this
    max_cost_usd = "0.25"                     # skip a candidate expected to cost more
    output_allowance = 2048                   # the output cap laneway sets under a budget
    timeouts = { first_byte_s = 120 }

    [lanes.coding.shadow]                     # mirror a share of traffic, never seen by clients
    model = "gpt-5.4-nano"
    share = 0.05
    max_usd_per_day = "5"

    [[auto.rules]]                            # `model: "auto"`: the first rule that matches
    lane = "frontier"
    capabilities = ["computer_use", "tool_search", "mcp"]
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from laneway.config_file import Strict
from laneway.pricing.model_spec import CAPABILITIES, REASONING_EFFORTS, Price, ReasoningEffort
from laneway.routing.policies import POLICIES
from laneway.upstream.timeouts import TimeoutsConfig

# The names of laneway.routing.policies.POLICIES (a test keeps the two equal).
PolicyName = Literal["cheapest", "ordered", "split"]
LANE_PREFIX = "lane:"
AUTO = "auto"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _candidate(value: object) -> object:
    return {"model": value} if isinstance(value, str) else value


def _capability(value: str) -> str:
    if value not in CAPABILITIES:
        raise ValueError(f"unknown capability {value!r}; known: {', '.join(CAPABILITIES)}")
    return value


Capability = Annotated[str, AfterValidator(_capability)]
Name = Annotated[str, Field(pattern=_NAME)]


class CandidateConfig(Strict):
    model: Annotated[str, Field(min_length=1)]
    provider: str | None = None  # pin to one provider; otherwise every provider serving it
    weight: Annotated[int, Field(ge=0)] | None = None  # split lanes only


class ShadowConfig(Strict):
    model: Annotated[str, Field(min_length=1)]
    provider: str | None = None
    share: Annotated[float, Field(ge=0, le=1)] = 0.05  # of the lane's requests
    max_usd_per_day: Price | None = None  # shadow spend per UTC day; then shadowing pauses
    max_in_flight: Annotated[int, Field(ge=1)] = 16  # shadows waiting on upstream at once


class LaneConfig(Strict):
    description: str = ""
    aliases: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    policy: PolicyName = "ordered"
    candidates: Annotated[
        tuple[Annotated[CandidateConfig, BeforeValidator(_candidate)], ...],
        Field(min_length=1),
    ]
    fallbacks: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    effort: ReasoningEffort | None = None
    max_effort: ReasoningEffort | None = None
    max_cost_usd: Price | None = None
    # Tokens at effort none: the output cap laneway sets, scaled by effort, when a budget
    # applies and the request sets none (docs/keys-and-budgets.md). None: `[budgets]`'s.
    output_allowance: Annotated[int, Field(ge=16, le=1_000_000)] | None = None
    timeouts: TimeoutsConfig | None = None
    shadow: ShadowConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LaneConfig:
        rank = REASONING_EFFORTS.index
        if self.effort and self.max_effort and rank(self.effort) > rank(self.max_effort):
            raise ValueError(f"effort {self.effort!r} is above max_effort {self.max_effort!r}")
        POLICIES[self.policy]().check([c.weight for c in self.candidates])
        return self


class AutoRule(Strict):
    """Conditions that must all hold (an empty rule matches everything)."""

    lane: Name
    endpoint: Literal["responses", "chat"] | None = None
    tools: bool | None = None  # the request has (true) or has no (false) tools at all
    capabilities: tuple[Capability, ...] = ()  # it needs any of these
    min_input_tokens: Annotated[int, Field(ge=0)] | None = None
    max_input_tokens: Annotated[int, Field(ge=0)] | None = None
    metadata: dict[str, str] = Field(default_factory=dict)  # every pair present in metadata


class AutoConfig(Strict):
    rules: tuple[AutoRule, ...] = ()
    default: Name | None = None  # the lane when no rule matches; none: the request is refused
    # The lane for a `metadata.task` no rule names; none: auto.default, and the route (its
    # x-laneway-route header and the ledger's record) says "unknown task".
    unknown_task: Name | None = None


class BreakerConfig(Strict):
    """A circuit breaker per provider and model (5xx, timeouts and refused connections fail)."""

    consecutive_failures: Annotated[int, Field(ge=1)] = 5
    failure_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    min_requests: Annotated[int, Field(ge=1)] = 20
    window_s: Annotated[float, Field(gt=0)] = 60.0
    open_s: Annotated[float, Field(gt=0)] = 30.0
    half_open_probes: Annotated[int, Field(ge=1)] = 1
    # With `[state] backend = "redis"`: how often a replica reads the opens and closes of the
    # others (a replica's own are written at once).
    sync_s: Annotated[float, Field(gt=0, le=60)] = 1.0


class RoutingConfig(Strict):
    # The shipped lanes (routing/lanes.toml, the seeds' routing table) under the configured
    # ones: a configured lane of the same name replaces a shipped one whole.
    shipped_lanes: bool = True
    # `model: "auto"` with a metadata.task no auto rule names goes here (over auto.unknown_task);
    # none: to auto.default, and the route says "unknown task".
    unknown_task_lane: Name | None = None


class LanesFile(Strict):
    """A lanes file on its own (the shipped one): lanes and the auto rules."""

    lanes: dict[Name, LaneConfig] = Field(default_factory=dict)
    auto: AutoConfig = AutoConfig()
