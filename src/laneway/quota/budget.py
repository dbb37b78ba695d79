"""A budget limit as people write it: `50/day`, `1000/month`, `20/lifetime` (USD, exact).

Windows are UTC calendar days and months; `lifetime` never resets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

Window = Literal["day", "month", "lifetime"]
WINDOWS: tuple[Window, ...] = get_args(Window)
_BY_NAME: dict[str, Window] = {window: window for window in WINDOWS}
_FORM = re.compile(r"^\s*\$?\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*/\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    window: Window
    usd: Decimal

    def __str__(self) -> str:
        return f"{self.usd}/{self.window}"


def parse_budget(text: str) -> BudgetLimit:
    """`"50/day"` -> BudgetLimit("day", Decimal("50")); ValueError naming what is wrong."""
    match = _FORM.match(text)
    if match is None:
        raise ValueError(f"a budget is AMOUNT/WINDOW, like 50/day or 1000/month: {text!r}")
    amount, window = match.groups()
    if window not in _BY_NAME:
        raise ValueError(f"a budget window is one of {', '.join(WINDOWS)}: {text!r}")
    try:
        usd = Decimal(amount.replace("_", "").replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValueError(f"not an amount: {text!r}") from None
    if usd <= 0:
        raise ValueError(f"a budget must be more than zero: {text!r}")
    return BudgetLimit(_BY_NAME[window], usd)
