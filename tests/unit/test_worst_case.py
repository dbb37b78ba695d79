"""The most a request can cost, as budgets reserve it."""

from __future__ import annotations

from decimal import Decimal

from laneway.pricing.catalog import Catalog
from laneway.pricing.money import pico_per_token, pico_per_token_up
from laneway.pricing.worst_case import WorstCase, nano_ceil, usd_of_nano

CATALOG = Catalog.load()


def usd(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    prices = CATALOG.get(model).prices
    assert prices.input is not None
    assert prices.output is not None
    return (input_tokens * prices.input + output_tokens * prices.output) / 10**6


def test_input_at_the_input_price_plus_max_output_at_the_output_price() -> None:
    worst = WorstCase(CATALOG)
    assert worst.nano("gpt-5.4", 1000, 200) == nano_ceil(usd("gpt-5.4", 1000, 200))
    # No cap from the client: the model's max output.
    spec = CATALOG.get("gpt-5.4-mini")
    assert spec.max_output_tokens is not None
    assert worst.nano("gpt-5.4-mini", 10, None) == nano_ceil(
        usd("gpt-5.4-mini", 10, spec.max_output_tokens)
    )


def test_input_held_upstream_is_bounded_by_the_window() -> None:
    spec = CATALOG.get("gpt-5.2")
    assert spec.context_window is not None
    expected = usd("gpt-5.2", spec.context_window - 500, 500)
    assert WorstCase(CATALOG).nano("gpt-5.2", None, 500) == nano_ceil(expected)


def test_an_unknown_price_or_model_has_no_worst_case() -> None:
    worst = WorstCase(CATALOG)
    assert worst.nano("gpt-5.4-nano", 10, 10) is None  # its output price is unknown
    assert worst.nano("no-such-model", 10, 10) is None


def test_rounding_is_up_never_under_the_truth() -> None:
    assert nano_ceil(Decimal("0.0000000001")) == 1
    assert nano_ceil(Decimal("1.000000001")) == 1_000_000_001
    assert usd_of_nano(1_000_000_001) == Decimal("1.000000001")
    assert pico_per_token(Decimal("0.0125")) == 12_500
    assert pico_per_token(Decimal("0.0000001")) is None  # finer than a pico-dollar
    assert pico_per_token_up(Decimal("0.0000001")) == 1


def test_an_embedding_worst_case_is_its_input_times_the_input_price() -> None:
    # text-embedding-3-small: $0.02 per 1M tokens = 20,000 nano-dollars per 1,000 tokens;
    # nothing is written, whatever output is asked for.
    worst = WorstCase(CATALOG)
    assert worst.nano("text-embedding-3-small", 1000, 0) == 20_000
    assert worst.nano("text-embedding-3-small", 1000, None) == 20_000
