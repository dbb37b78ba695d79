"""Money: its units, and helpers that present it.

Money is exact in every unit laneway keeps it in, and each unit has a name, so a signature says
which it takes:

    USD       Decimal dollars: prices, costs, the ledger, budgets as configured
    NanoUSD   whole 1e-9 dollars: budget counters and reservations (memory and Redis)
    PicoUSD   whole 1e-12 dollars: expected costs as routing ranks candidates, prices per token

An unknown amount is None, never 0.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import TypeAlias

USD: TypeAlias = Decimal
NanoUSD: TypeAlias = int
PicoUSD: TypeAlias = int


def usd_str(amount: USD) -> str:
    """Exact plain-decimal text (no exponent, no trailing zeros): Decimal('0.04550') -> '0.0455'."""
    # The cheap way (the request log line calls this per request), Decimal's own text, has an
    # exponent for very small or large amounts. Not str(): a float (a bug) must still raise.
    text = amount.to_eng_string()
    if "E" in text:
        text = format(amount.normalize(), "f")
    elif "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def usd_display(amount: USD | None) -> str:
    """For people: exact, with at least cents ('$0.0455', '$0.14', '$0.00000175'); None is
    'unknown'. Rounding a ledger figure for display would make two screens disagree."""
    if amount is None:
        return "unknown"
    whole, _, fraction = usd_str(amount).partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


# A price in USD per 1M tokens, times this, is pico-USD (1e-12 USD) per token.
_PICO_PER_TOKEN = 10**6


def pico_per_token(price_per_million: USD) -> PicoUSD | None:
    """A per-1M-token price as whole pico-USD per token, when that is exact; else None."""
    scaled = price_per_million * _PICO_PER_TOKEN
    return int(scaled) if scaled == scaled.to_integral_value() else None


def pico_per_token_up(price_per_million: USD) -> PicoUSD:
    """A per-1M-token price as whole pico-USD per token, rounded up (never under the price)."""
    return int((price_per_million * _PICO_PER_TOKEN).to_integral_value(ROUND_CEILING))
