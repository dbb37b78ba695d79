"""Money is `Decimal` US dollars, exact; these helpers only present it."""

from __future__ import annotations

from decimal import Decimal


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
