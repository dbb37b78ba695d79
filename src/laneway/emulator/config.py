"""The emulator's configuration: typed, validated at load, unknown keys rejected.

Everything here is about the emulator's own behaviour (latency, limits, faults, keys); facts about
the models (windows, capabilities, published tier limits) come from the catalog, and what they
cost from the emulator's own price list (`prices.toml`), never from the catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from laneway.config_file import Strict, load_toml
from laneway.emulator.skills import SkillsConfig
from laneway.errors import LanewayError
from laneway.pricing.model_spec import Tier, TierLimit


class EmulatorConfigError(LanewayError):
    """An emulator config file is malformed; the message names the file and the field."""


class Latency(Strict):
    """How long a model takes: time to first token, then output (reasoning included) at a rate."""

    ttft_s: Annotated[float, Field(ge=0)]
    tokens_per_s: Annotated[float, Field(gt=0)]


# Emulator assumptions, not published figures: plausible relative speeds of the four models.
DEFAULT_LATENCY: dict[str, Latency] = {
    "gpt-5.2": Latency(ttft_s=0.6, tokens_per_s=60),
    "gpt-5.4": Latency(ttft_s=0.7, tokens_per_s=55),
    "gpt-5.4-mini": Latency(ttft_s=0.35, tokens_per_s=120),
    "gpt-5.4-nano": Latency(ttft_s=0.25, tokens_per_s=180),
}
FALLBACK_LATENCY = Latency(ttft_s=0.5, tokens_per_s=80)


# How a call the emulator abandons is billed (laneway.emulator.abandoned says what each means).
AbandonedBilling = Literal["generated", "none"]

FaultKind = Literal["status", "hang", "cut", "slow_first_byte", "echo_key"]


class FaultRule(Strict):
    """Inject a fault into a share of matching requests (deterministic under the seed).

    status: answer with `status` (429, 500, 502, 503, ...) in OpenAI's error shape.
    hang: accept the request and never answer (until the client gives up).
    cut: stream `after_events` events, then drop the connection without a final event.
    A hang or a cut is billed as `abandoned_billing` says (`laneway.emulator.abandoned`).
    slow_first_byte: wait `delay_s` before the response starts.
    echo_key: answer `status` with an error whose message quotes the API key the request
    carried (what some providers do), to prove a gateway keeps its key to itself.
    """

    kind: FaultKind
    share: Annotated[float, Field(ge=0, le=1)] = 1.0
    status: Annotated[int, Field(ge=400, le=599)] | None = None
    after_events: Annotated[int, Field(ge=0)] | None = None
    delay_s: Annotated[float, Field(ge=0)] | None = None
    models: tuple[str, ...] | None = None
    endpoints: tuple[Literal["responses", "chat", "embeddings"], ...] | None = None

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> FaultRule:
        needs = {
            "status": "status",
            "echo_key": "status",
            "cut": "after_events",
            "slow_first_byte": "delay_s",
        }
        field = needs.get(self.kind)
        if field is not None and getattr(self, field) is None:
            raise ValueError(f"a '{self.kind}' fault needs '{field}'")
        return self


class KeyRule(Strict):
    """A key restricted to some models (OpenAI's project model-usage restrictions)."""

    models: tuple[str, ...]


class OutputLength(Strict):
    """Visible output tokens per answer are drawn deterministically from [min, max]."""

    min: Annotated[int, Field(ge=1)] = 24
    max: Annotated[int, Field(ge=1)] = 160

    @model_validator(mode="after")
    def _ordered(self) -> OutputLength:
        if self.min > self.max:
            raise ValueError("min exceeds max")
        return self


class EmulatorConfig(Strict):
    seed: int = 0
    # Multiplies every modelled delay: 1 is real time, 0 answers at once (benchmarks, tests).
    speed: Annotated[float, Field(ge=0)] = 1.0
    # Which usage tier's published limits to enforce; "none" enforces nothing.
    tier: Tier | Literal["none"] = "tier-5"
    # Per-model limits that replace (or supply, where the catalog has none) the tier's.
    rate_limits: dict[str, TierLimit] = Field(default_factory=dict)
    prompt_cache_ttl_s: Annotated[float, Field(gt=0)] = 300.0
    max_body_bytes: Annotated[int, Field(gt=0)] = 32 * 1024 * 1024
    # Keys listed here are limited to their models; any other "sk-" key may use every model.
    keys: dict[str, KeyRule] = Field(default_factory=dict)
    latency: dict[str, Latency] = Field(default_factory=lambda: dict(DEFAULT_LATENCY))
    output_tokens: OutputLength = OutputLength()
    faults: tuple[FaultRule, ...] = ()
    # Stored responses kept for previous_response_id (oldest forgotten first). Each holds its
    # prompt, answer, response and input (~15 KB in the benches): 100,000 made the emulator
    # 1.5-1.8 GB after a bench's load; 10,000 bounds it near 150 MB, far more than a
    # conversation's follow-ups look back.
    stored_responses: Annotated[int, Field(gt=0)] = 10_000
    # How long a `background: true` response runs on the emulator's clock before it completes;
    # None: its modelled time (time to first token, then its output at the model's rate).
    background_s: Annotated[float, Field(ge=0)] | None = None
    # How a call the emulator abandons (a hang, a cut stream) is billed: "generated" bills what
    # the model generated up to that point, as a provider does; "none" bills nothing.
    abandoned_billing: AbandonedBilling = "generated"
    # What each of the last N calls was billed, kept by request id (`Bill.billed`); 0 keeps none.
    journal_requests: Annotated[int, Field(ge=0)] = 0
    # The skill model: how often each model and effort answers a task right (EMULATED, see
    # laneway.emulator.skills).
    skills: SkillsConfig = SkillsConfig()

    @classmethod
    def load(cls, path: Path) -> EmulatorConfig:
        return load_toml(cls, path, EmulatorConfigError)

    def latency_of(self, model: str) -> Latency:
        return self.latency.get(model, FALLBACK_LATENCY)
