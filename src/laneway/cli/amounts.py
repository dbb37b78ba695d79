"""Token counts as people type them: 300000, 300_000, 300,000, 300k, 1.2M."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from laneway.cli.errors import CliError

_MULTIPLIERS = {"k": 10**3, "m": 10**6}
_MAX_DIGITS = 15  # a quadrillion tokens is no request; bigger input is a typo, not a count


def parse_token_count(text: str, option: str) -> int:
    """The whole, non-negative number of tokens `text` denotes; `CliError` naming `option`."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    multiplier = 1
    if cleaned and cleaned[-1].lower() in _MULTIPLIERS:
        multiplier = _MULTIPLIERS[cleaned[-1].lower()]
        cleaned = cleaned[:-1]
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise CliError(f"{option}: {text!r} is not a token count (write 300000, 300k or 1.2M)")
    number *= multiplier
    if number < 0:
        raise CliError(f"{option}: token counts cannot be negative, got {text!r}")
    if number.adjusted() >= _MAX_DIGITS:
        raise CliError(f"{option}: {text!r} is too large to be a token count")
    if number != number.to_integral_value():
        raise CliError(f"{option}: {text!r} is not a whole number of tokens")
    return int(number)
