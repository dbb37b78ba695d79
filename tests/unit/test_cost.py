"""The cost engine against every worked example in the seeds, to the cent and beyond."""

from __future__ import annotations

from decimal import Decimal

import pytest

from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import cost_of
from laneway.usage import Usage


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


# shared/seeds/gpt-5.2-api-guide.txt, "Real-World Cost Examples".
@pytest.mark.parametrize(
    ("usage", "uncached", "cached", "output", "total"),
    [
        (Usage(10_000, 2_000), "0.0175", "0", "0.028", "0.0455"),
        (Usage(100_000, 5_000), "0.175", "0", "0.07", "0.245"),
        (Usage(300_000, 10_000), "0.525", "0", "0.14", "0.665"),
        (Usage(300_000, 10_000, cached_input_tokens=300_000), "0", "0.0525", "0.14", "0.1925"),
    ],
)
def test_seed_examples_for_gpt_5_2(
    catalog: Catalog, usage: Usage, uncached: str, cached: str, output: str, total: str
) -> None:
    cost = cost_of(catalog.get("gpt-5.2"), usage)
    assert cost.uncached_input == Decimal(uncached)
    assert cost.cached_input == Decimal(cached)
    assert cost.output == Decimal(output)
    assert cost.total == Decimal(total)
    assert cost.unknown == ()


def test_caching_saves_71_percent_as_the_seed_says(catalog: Catalog) -> None:
    model = catalog.get("gpt-5.2")
    uncached = cost_of(model, Usage(300_000, 10_000)).total
    cached = cost_of(model, Usage(300_000, 10_000, cached_input_tokens=300_000)).total
    assert uncached is not None
    assert cached is not None
    saving = (1 - cached / uncached) * 100
    assert saving.quantize(Decimal(1)) == 71


def test_seed_monitoring_formula_matches(catalog: Catalog) -> None:
    # The guide's snippet: input * 1.75 / 1M + output * 14 / 1M, here without floats.
    cost = cost_of(catalog.get("gpt-5.2"), Usage(123_457, 9_876))
    assert cost.total == Decimal(123_457) * Decimal("1.75") / 10**6 + Decimal(9_876) * 14 / 10**6


@pytest.mark.parametrize("model", ["gpt-5.2", "gpt-5.4", "gpt-5.4-mini"])
def test_cached_input_is_ten_percent_of_input(catalog: Catalog, model: str) -> None:
    prices = catalog.get(model).prices
    assert prices.input is not None
    assert prices.cached_input == prices.input / 10


def test_routing_guide_prices(catalog: Catalog) -> None:
    # gpt-5.4-mini at 10k in / 2k out: 10,000 x 0.75/M + 2,000 x 4.50/M.
    assert cost_of(catalog.get("gpt-5.4-mini"), Usage(10_000, 2_000)).total == Decimal("0.0165")
    assert cost_of(catalog.get("gpt-5.4"), Usage(10_000, 2_000)).total == Decimal("0.055")


def test_reasoning_is_billed_as_output_and_reported_as_its_share(catalog: Catalog) -> None:
    cost = cost_of(catalog.get("gpt-5.2"), Usage(1_000, 3_000, reasoning_tokens=2_000))
    assert cost.output == Decimal("0.042")
    assert cost.reasoning == Decimal("0.028")
    assert cost.total == Decimal("0.04375")


def test_cache_write_tokens_bill_as_uncached_input(catalog: Catalog) -> None:
    plain = cost_of(catalog.get("gpt-5.4"), Usage(2_000, 100))
    written = cost_of(catalog.get("gpt-5.4"), Usage(2_000, 100, cache_write_tokens=1_024))
    assert plain.total == written.total == Decimal("0.0065")


def test_batch_halves_every_part(catalog: Catalog) -> None:
    usage = Usage(300_000, 10_000, cached_input_tokens=100_000, reasoning_tokens=4_000)
    sync = cost_of(catalog.get("gpt-5.2"), usage)
    batch = cost_of(catalog.get("gpt-5.2"), usage, batch=True)
    assert batch.batch
    assert sync.total is not None
    assert batch.total == sync.total / 2
    assert batch.total == Decimal("0.25375")
    assert batch.reasoning == Decimal("0.028")


def test_unknown_batch_discount_makes_a_batch_cost_unknown(catalog: Catalog) -> None:
    spec = catalog.get("gpt-5.4").model_copy(update={"batch_discount": None})
    cost = cost_of(spec, Usage(1_000, 100), batch=True)
    assert cost.total is None
    assert cost.uncached_input is None
    assert cost.unknown == ("batch discount is unknown",)
    # Nothing to price: no discount needed.
    assert cost_of(spec, Usage(0, 0), batch=True).total == 0
    # The synchronous price does not depend on the discount.
    assert cost_of(spec, Usage(1_000, 100)).total == Decimal("0.004")


def test_unknown_price_makes_the_total_unknown_never_zero(catalog: Catalog) -> None:
    cost = cost_of(catalog.get("gpt-5.4-nano"), Usage(10_000, 2_000))
    assert cost.uncached_input == Decimal("0.001")
    assert cost.output is None
    assert cost.total is None
    assert not cost.known
    assert cost.unknown == ("output price is unknown",)


def test_an_unknown_price_with_no_tokens_to_price_is_harmless(catalog: Catalog) -> None:
    # Nano's cached price is unknown, but nothing here was cached: 0 tokens cost $0 at any price.
    cost = cost_of(catalog.get("gpt-5.4-nano"), Usage(10_000, 0))
    assert cost.total == Decimal("0.001")


def test_unknown_cached_price_with_cached_tokens(catalog: Catalog) -> None:
    cost = cost_of(catalog.get("gpt-5.4-nano"), Usage(10_000, 0, cached_input_tokens=5_000))
    assert cost.total is None
    assert cost.unknown == ("cached input price is unknown",)


def test_precision_survives_large_and_tiny_counts(catalog: Catalog) -> None:
    model = catalog.get("gpt-5.2")
    assert cost_of(model, Usage(1, 0)).total == Decimal("0.00000175")
    huge = cost_of(model, Usage(10**12 + 1, 10**12 + 3, cached_input_tokens=7))
    expected = (
        Decimal(10**12 + 1 - 7) * Decimal("1.75") + 7 * Decimal("0.175") + (10**12 + 3) * 14
    ) / 10**6
    assert huge.total == expected
