"""The shipped catalog holds the seeds' figures, and the unknowns stay unknown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from laneway.errors import UnknownModelError
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import CAPABILITIES, TierLimit


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_ships_four_text_models_and_three_embedding_models(catalog: Catalog) -> None:
    assert [m.id for m in catalog if m.kind == "text"] == [
        "gpt-5.2",
        "gpt-5.4",
        "gpt-5.4-mini",
        "gpt-5.4-nano",
    ]
    assert [m.id for m in catalog if m.kind == "embedding"] == [
        "text-embedding-3-small",
        "text-embedding-3-large",
        "text-embedding-ada-002",
    ]


@pytest.mark.parametrize(
    ("model", "input_"),
    [
        ("text-embedding-3-small", "0.02"),
        ("text-embedding-3-large", "0.13"),
        ("text-embedding-ada-002", "0.10"),
    ],
)
def test_embedding_models_have_an_input_price_only(
    catalog: Catalog, model: str, input_: str
) -> None:
    spec = catalog.get(model)
    assert spec.prices.input == Decimal(input_)
    assert (spec.prices.cached_input, spec.prices.output) == (None, None)
    assert (spec.max_output_tokens, spec.reasoning_efforts) == (None, None)
    assert spec.context_window == 8192
    assert not any(spec.capabilities.get(c) for c in CAPABILITIES)


@pytest.mark.parametrize(
    ("model", "input_", "cached", "output", "context", "max_out"),
    [
        ("gpt-5.2", "1.75", "0.175", "14.00", 400_000, 128_000),
        ("gpt-5.4", "2.50", "0.25", "15.00", 1_050_000, 128_000),
        # The routing guide (March 21) supersedes the API guide's "TBD" for the mini.
        ("gpt-5.4-mini", "0.75", "0.075", "4.50", 400_000, 128_000),
        ("gpt-5.4-nano", "0.10", None, None, None, None),
    ],
)
def test_prices_and_windows(
    catalog: Catalog,
    model: str,
    input_: str,
    cached: str | None,
    output: str | None,
    context: int | None,
    max_out: int | None,
) -> None:
    spec = catalog.get(model)
    assert spec.prices.input == Decimal(input_)
    assert spec.prices.cached_input == (Decimal(cached) if cached else None)
    assert spec.prices.output == (Decimal(output) if output else None)
    assert spec.context_window == context
    assert spec.max_output_tokens == max_out


def test_snapshots_resolve_to_their_models(catalog: Catalog) -> None:
    assert catalog.get("gpt-5.2-2025-12-11").id == "gpt-5.2"
    assert catalog.get("gpt-5.4-mini-2026-03-17").id == "gpt-5.4-mini"
    assert catalog.get("gpt-5.4").snapshot is None  # no seed names it


def test_lifecycle(catalog: Catalog) -> None:
    legacy = catalog.get("gpt-5.2")
    assert legacy.lifecycle == "legacy"
    assert legacy.successor == "gpt-5.4"  # not the mini: "GPT-5.4 replaced GPT-5.2 in the API"
    legacy_ones = {"gpt-5.2", "text-embedding-ada-002"}
    assert {m.lifecycle for m in catalog if m.id not in legacy_ones} == {"current"}
    assert catalog.get("text-embedding-ada-002").successor == "text-embedding-3-small"


def test_cutoffs_and_efforts(catalog: Catalog) -> None:
    for model in ("gpt-5.2", "gpt-5.4", "gpt-5.4-mini"):
        assert catalog.get(model).knowledge_cutoff == date(2025, 8, 31)
    assert catalog.get("gpt-5.4-nano").knowledge_cutoff is None
    efforts = ("none", "low", "medium", "high", "xhigh")
    assert catalog.get("gpt-5.2").reasoning_efforts == efforts
    assert catalog.get("gpt-5.4").reasoning_efforts == efforts
    assert catalog.get("gpt-5.4-mini").reasoning_efforts is None


def test_capabilities(catalog: Catalog) -> None:
    old, new, mini, nano = (m.capabilities for m in catalog if m.kind == "text")
    for exclusive in ("computer_use", "tool_search", "mcp"):
        assert old.get(exclusive) is False
        assert new.get(exclusive) is True
    assert all(mini.get(c) is True for c in CAPABILITIES)
    assert all(nano.get(c) is None for c in CAPABILITIES)
    with pytest.raises(KeyError):
        old.get("telepathy")


def test_gpt_5_2_tier_table(catalog: Catalog) -> None:
    spec = catalog.get("gpt-5.2")
    table = {
        tier: (limit.rpm, limit.tpm)
        for tier, limit in spec.rate_limits.items()
        if isinstance(limit, TierLimit)
    }
    assert table == {
        "tier-1": (500, 500_000),
        "tier-2": (5_000, 1_000_000),
        "tier-3": (5_000, 2_000_000),
        "tier-4": (10_000, 4_000_000),
        "tier-5": (15_000, 40_000_000),
    }
    assert spec.rate_limits["free"] == "unsupported"
    assert spec.tier_limit("free") is None


def test_mini_publishes_only_tier_5(catalog: Catalog) -> None:
    spec = catalog.get("gpt-5.4-mini")
    assert spec.tier_limit("tier-5") == TierLimit(rpm=30_000, tpm=180_000_000)
    assert [spec.tier_limit(t) for t in ("tier-1", "tier-2", "tier-3", "tier-4")] == [None] * 4


def test_batch_discount(catalog: Catalog) -> None:
    assert {m.batch_discount for m in catalog} == {Decimal("0.5")}


def test_unknown_model_suggests_close_names(catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as info:
        catalog.get("gpt-5.4-mnii")
    assert info.value.suggestions[0] == "gpt-5.4-mini"
    assert "did you mean 'gpt-5.4-mini'" in str(info.value)
    assert catalog.find("gpt-4o") is None
    assert "gpt-5.4" in catalog
    assert len(catalog) == 7
