"""Typed, validated catalog entries: what laneway knows about one model.

A figure can be unknown. In the data file that is the string "unknown"; here it is `None`.
Unknown is never zero: the cost engine refuses to price with an unknown figure.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

UNKNOWN = "unknown"

ReasoningEffort: TypeAlias = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
REASONING_EFFORTS: tuple[ReasoningEffort, ...] = (
    "none",
    "minimal",
    "low",
    "medium",
    "high",
    "xhigh",
    "max",
)

Tier: TypeAlias = Literal["free", "tier-1", "tier-2", "tier-3", "tier-4", "tier-5"]
TIERS: tuple[Tier, ...] = ("free", "tier-1", "tier-2", "tier-3", "tier-4", "tier-5")

Lifecycle: TypeAlias = Literal["current", "legacy"]
# "text" answers Responses and Chat; "embedding" answers /v1/embeddings: input only, so it has
# no output or cached-input price, no output cap, no reasoning and no tools.
ModelKind: TypeAlias = Literal["text", "embedding"]
# What an embedding model does not have, filled in for it (and refused when written): none of
# it applies, so it is neither a figure to write out nor an unknown.
_NOT_EMBEDDING = ("max_output_tokens", "reasoning_efforts", "capabilities", "knowledge_cutoff")
_NO_EMBEDDING_PRICE = ("cached_input", "output")

CAPABILITIES: tuple[str, ...] = (
    "computer_use",
    "tool_search",
    "mcp",
    "web_search",
    "file_search",
    "code_interpreter",
    "image_generation",
    "hosted_shell",
    "apply_patch",
    "skills",
)


def _unknown_to_none(value: object) -> object:
    return None if value == UNKNOWN else value


def _exact_decimal(value: object) -> Decimal:
    """Money arrives as a decimal string or an integer (TOML floats are parsed as Decimal).

    A binary float is refused: it has already lost the exact value."""
    if isinstance(value, bool):
        raise ValueError("must be a decimal number, not a boolean")
    if isinstance(value, float):
        raise ValueError("must be a decimal string such as '1.75', not a binary float")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f"{value!r} is not a decimal number") from None
    else:
        raise ValueError(f"must be a decimal number, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"must be a finite number, got {value!r}")
    return number


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def _fraction(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"must be a fraction between 0 and 1, got {value}")
    return value


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]
Price = Annotated[ExactDecimal, AfterValidator(_non_negative)]
Fraction = Annotated[ExactDecimal, AfterValidator(_fraction)]

# "unknown" in the file, None here. No default: every figure must be written out, known or not.
UnknownablePrice = Annotated[Price | None, BeforeValidator(_unknown_to_none)]
UnknownableFraction = Annotated[Fraction | None, BeforeValidator(_unknown_to_none)]
UnknownableCount = Annotated[
    Annotated[StrictInt, Field(gt=0)] | None, BeforeValidator(_unknown_to_none)
]
UnknownableBool = Annotated[StrictBool | None, BeforeValidator(_unknown_to_none)]
UnknownableDate = Annotated[date | None, BeforeValidator(_unknown_to_none)]
UnknownableStr = Annotated[
    Annotated[StrictStr, Field(min_length=1)] | None, BeforeValidator(_unknown_to_none)
]


def _efforts(value: object) -> object:
    value = _unknown_to_none(value)
    if isinstance(value, list):
        if not value:
            raise ValueError("must list at least one effort, or be 'unknown'")
        if len(set(value)) != len(value):
            raise ValueError("lists an effort twice")
    return value


UnknownableEfforts = Annotated[tuple[ReasoningEffort, ...] | None, BeforeValidator(_efforts)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Prices(_Entry):
    """USD per 1M tokens. Cached input is billed instead of (not on top of) the input price.
    An embedding model writes only `input`; the others are None for it (not applicable)."""

    input: UnknownablePrice
    cached_input: UnknownablePrice
    output: UnknownablePrice


class Capabilities(_Entry):
    """Hosted tools and features; None is unknown (and a router must treat it as unsupported)."""

    computer_use: UnknownableBool
    tool_search: UnknownableBool
    mcp: UnknownableBool
    web_search: UnknownableBool
    file_search: UnknownableBool
    code_interpreter: UnknownableBool
    image_generation: UnknownableBool
    hosted_shell: UnknownableBool
    apply_patch: UnknownableBool
    skills: UnknownableBool

    def get(self, name: str) -> bool | None:
        if name not in CAPABILITIES:
            raise KeyError(name)
        value: bool | None = getattr(self, name)
        return value


class TierLimit(_Entry):
    """A usage tier's published limits: requests and tokens per minute."""

    rpm: Annotated[StrictInt, Field(gt=0)]
    tpm: Annotated[StrictInt, Field(gt=0)]


def _tier_branch(value: object) -> str:
    return "unsupported" if value == "unsupported" else "limits"


# Discriminated, so a bad figure reports one error for the limits, not one per union branch.
TierEntry = Annotated[
    Annotated[TierLimit, Tag("limits")] | Annotated[Literal["unsupported"], Tag("unsupported")],
    Discriminator(_tier_branch),
]


class ModelSpec(_Entry):
    """One catalog entry. `id` is the catalog key; the snapshot and aliases resolve to it."""

    id: Annotated[StrictStr, Field(min_length=1)]
    kind: ModelKind = "text"
    snapshot: UnknownableStr
    aliases: tuple[Annotated[StrictStr, Field(min_length=1)], ...]
    lifecycle: Lifecycle
    successor: StrictStr | None = None
    context_window: UnknownableCount
    max_output_tokens: UnknownableCount
    knowledge_cutoff: UnknownableDate
    reasoning_efforts: UnknownableEfforts
    batch_discount: UnknownableFraction
    prices: Prices
    capabilities: Capabilities
    rate_limits: dict[Tier, TierEntry]

    @model_validator(mode="before")
    @classmethod
    def _embedding_fields(cls, data: object) -> object:
        """An embedding model writes none of `_NOT_EMBEDDING` nor an output or cached price:
        they are filled in for it, as not applicable."""
        if not isinstance(data, dict) or data.get("kind") != "embedding":
            return data
        prices = data.get("prices")
        written = set(prices) if isinstance(prices, dict) else set()
        extra = [name for name in _NOT_EMBEDDING if name in data]
        extra += [f"prices.{name}" for name in _NO_EMBEDDING_PRICE if name in written]
        if extra:
            raise ValueError(f"an embedding model has no {', '.join(extra)}: remove it")
        filled = {**data, **_EMBEDDING_DEFAULTS}
        if isinstance(prices, dict):
            filled["prices"] = {**prices, **dict.fromkeys(_NO_EMBEDDING_PRICE)}
        return filled

    @model_validator(mode="after")
    def _successor_only_when_legacy(self) -> ModelSpec:
        if self.successor is not None and self.lifecycle != "legacy":
            raise ValueError("only a legacy model has a successor (lifecycle = 'legacy')")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Every name that resolves to this model: id, snapshot, aliases."""
        extra = (self.snapshot,) if self.snapshot else ()
        return (self.id, *extra, *self.aliases)

    def tier_limit(self, tier: Tier) -> TierLimit | None:
        """Published limits for `tier`; None when unknown or not served."""
        entry = self.rate_limits.get(tier)
        return entry if isinstance(entry, TierLimit) else None


_EMBEDDING_DEFAULTS: dict[str, object] = {
    "max_output_tokens": None,
    "reasoning_efforts": None,
    "knowledge_cutoff": None,
    "capabilities": dict.fromkeys(CAPABILITIES, False),
}
