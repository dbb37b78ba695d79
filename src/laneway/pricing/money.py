"""Money is `Decimal` US dollars, exact; these helpers only present it."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal


def usd_str(amount: Decimal) -> str:
    """Exact plain-decimal text (no exponent, no trailing zeros): Decimal('0.04550') -> '0.0455'."""
    text = format(amount.normalize(), "f")
    return "0" if text == "-0" else text


def usd_display(amount: Decimal | None) -> str:
    """For people: exact, with at least cents ('$0.0455', '$0.14', '$0.00000175'); None is
    'unknown'. Rounding a ledger figure for display would make two screens disagree."""
    if amount is None:
        return "unknown"
    whole, _, fraction = usd_str(amount).partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


# A price in USD per 1M tokens, times this, is pico-USD (1e-12 USD) per token.
_PICO_PER_TOKEN = 10**6


def pico_per_token(price_per_million: Decimal) -> int | None:
    """A per-1M-token price as whole pico-USD per token, when that is exact; else None."""
    scaled = price_per_million * _PICO_PER_TOKEN
    return int(scaled) if scaled == scaled.to_integral_value() else None


def pico_per_token_up(price_per_million: Decimal) -> int:
    """A per-1M-token price as whole pico-USD per token, rounded up (never under the price)."""
    return int((price_per_million * _PICO_PER_TOKEN).to_integral_value(ROUND_CEILING))
