"""Key settings as people type them: `2M` tokens, `30d`, `coding,extraction`, `50/day`.

Each parser takes the name to blame (`--tpm` on the command line, `tpm` in an API body) and
raises KeyFieldError starting with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from laneway.keys.store import KeyFieldError
from laneway.quota.budget import BudgetLimit, parse_budget

_COUNT = re.compile(r"([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([kmb]?)", re.IGNORECASE)
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_SPAN = re.compile(r"([0-9]+)\s*([smhdw])", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_count(text: str, field: str) -> int:
    """`40000`, `150k`, `2M`, `1.5M` -> a whole positive number."""
    match = _COUNT.fullmatch(text.strip())
    if match is None:
        raise KeyFieldError(field, f"{text!r} is not a count (write 40000, 150k or 2M)")
    digits, suffix = match.groups()
    try:
        value = Decimal(digits.replace("_", "").replace(",", "")) * _SCALE[suffix.lower()]
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise KeyFieldError(field, f"{text!r} is not a count") from None
    if value != value.to_integral_value():
        raise KeyFieldError(field, f"{text!r} is not a whole number")
    if value <= 0:
        raise KeyFieldError(field, f"must be more than zero, got {text!r}")
    return int(value)


def parse_span(text: str, field: str) -> int:
    """`3600s`, `90m`, `12h`, `30d`, `2w` -> seconds."""
    match = _SPAN.fullmatch(text.strip())
    if match is None:
        raise KeyFieldError(field, f"{text!r} is not a duration (write 30d, 12h, 90m or 3600s)")
    seconds = int(match.group(1)) * _SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise KeyFieldError(field, f"must be more than zero, got {text!r}")
    return seconds


def parse_names(text: str, field: str) -> tuple[str, ...]:
    """`coding, extraction` -> ("coding", "extraction"): comma-separated, repeats dropped."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise KeyFieldError(field, f"{text!r} names nothing (write coding,extraction)")
    return names


def parse_budgets(texts: Iterable[str], field: str) -> tuple[BudgetLimit, ...]:
    """`["50/day", "1000/month"]` -> BudgetLimits, at most one per window."""
    budgets: list[BudgetLimit] = []
    for text in texts:
        try:
            budget = parse_budget(text)
        except ValueError as exc:
            raise KeyFieldError(field, str(exc)) from None
        same = next((b for b in budgets if b.window == budget.window), None)
        if same is not None:
            raise KeyFieldError(
                field, f"two budgets for the {budget.window} window ({same} and {budget}); give one"
            )
        budgets.append(budget)
    return tuple(budgets)
