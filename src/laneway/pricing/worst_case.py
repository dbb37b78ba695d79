"""The most a request can cost on a model, in whole nano-dollars, for budget reservations.

    worst case = input tokens x input price
               + (max output tokens x choices + output beyond the cap) x output price

Input is charged at the full input price (a cache hit only lowers it) and once however many
choices are asked for; reasoning is part of output and each of Chat's `n` choices writes up to
the cap; a Chat prediction's rejected tokens are billed as output beyond the cap (bounded by the
body's bytes). So no answer can cost more. Rates are per token in pico-dollars, rounded up once per
model, and the total is rounded up to a nano-dollar: a reservation may exceed the truth by a
fraction of a cent-millionth, never fall short of it. An unknown price gives None, never zero.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from laneway.pricing.catalog import Catalog
from laneway.pricing.money import USD, NanoUSD, pico_per_token_up

NANO_PER_USD = 10**9
_PICO_PER_NANO = 1000
# A model's input and output pico-dollars per token, context window and max output.
_Rate = tuple[int, int, int | None, int | None]
_UNSEEN: _Rate = (-1, -1, None, None)  # not in the memo yet (None there: cannot be priced)


def nano_ceil(usd: USD) -> NanoUSD:
    """USD -> whole nano-dollars, rounded up."""
    return int((usd * NANO_PER_USD).to_integral_value(ROUND_CEILING))


def usd_of_nano(nano: NanoUSD) -> USD:
    return Decimal(nano).scaleb(-9)


class WorstCase:
    """Per-model rates computed once, then integer arithmetic per request."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._rates: dict[str, _Rate | None] = {}

    def _rate(self, model: str) -> _Rate | None:
        spec = self._catalog.find(model)
        rate: _Rate | None = None
        if spec is not None and spec.kind == "embedding":
            # Input only: nothing is written, so the worst case is input x input price.
            if spec.prices.input is not None:
                rate = (pico_per_token_up(spec.prices.input), 0, spec.context_window, 0)
        elif spec is not None and spec.prices.input is not None and spec.prices.output is not None:
            rate = (
                pico_per_token_up(spec.prices.input),
                pico_per_token_up(spec.prices.output),
                spec.context_window,
                spec.max_output_tokens,
            )
        self._rates[model] = rate
        return rate

    def nano(
        self,
        model: str,
        input_tokens: int | None,
        max_output: int | None,
        choices: int = 1,
        extra_output: int = 0,
    ) -> NanoUSD | None:
        """The worst case on `model`; `input_tokens` None means unbounded by the body (stored
        input upstream: the model's whole window is the bound); `choices` answers of up to
        `max_output` each (else the model's max output), and `extra_output` billed beside them.
        None when it cannot be priced or bounded. Python integers: no size overflows here (the
        quota state's own range is the caller's to check)."""
        rate = self._rates.get(model, _UNSEEN)
        if rate is _UNSEEN:
            rate = self._rate(model)
        if rate is None:
            return None
        input_pico, output_pico, window, model_max_output = rate
        output = max_output if max_output is not None else model_max_output
        if output is None:
            return None
        if input_tokens is None:
            if window is None:
                return None
            input_tokens = max(window - output, 0)
        pico = input_tokens * input_pico + (output * choices + extra_output) * output_pico
        return -(-pico // _PICO_PER_NANO)

    def max_output(self, model: str) -> int | None:
        """The most `model` writes, when it is priced and the catalog knows it."""
        rates = self.rates(model)
        return None if rates is None else rates[2]

    def rates(self, model: str) -> tuple[int, int, int | None] | None:
        """(input, output pico-USD per token, max output) of `model`, or None when unpriced."""
        rate = self._rates.get(model, _UNSEEN)
        if rate is _UNSEEN:
            rate = self._rate(model)
        return None if rate is None else (rate[0], rate[1], rate[3])
