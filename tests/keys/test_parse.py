"""Key settings as typed on the command line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from laneway.keys.parse import parse_budgets, parse_count, parse_names, parse_span
from laneway.keys.store import KeyFieldError
from laneway.quota.budget import BudgetLimit


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("40000", 40_000),
        ("40_000", 40_000),
        ("40,000", 40_000),
        ("150k", 150_000),
        ("150K", 150_000),
        ("2M", 2_000_000),
        ("2m", 2_000_000),
        ("1.5M", 1_500_000),
        ("0.5k", 500),
        ("3b", 3_000_000_000),
        (" 600 ", 600),
    ],
)
def test_counts(text: str, count: int) -> None:
    assert parse_count(text, "--tpm") == count


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a count"),
        ("lots", "not a count"),
        ("2 million", "not a count"),
        ("-5", "not a count"),
        ("1.5", "not a whole number"),
        ("1.0005k", "not a whole number"),
        ("0", "more than zero"),
        ("0k", "more than zero"),
    ],
)
def test_bad_counts_name_the_option(text: str, problem: str) -> None:
    with pytest.raises(KeyFieldError) as failure:
        parse_count(text, "--tpm")
    assert str(failure.value).startswith("--tpm: ")
    assert problem in str(failure.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600s", 3600), ("90m", 5400), ("12h", 43_200), ("30d", 2_592_000), ("2w", 1_209_600)],
)
def test_spans(text: str, seconds: int) -> None:
    assert parse_span(text, "--expires") == seconds


@pytest.mark.parametrize("text", ["", "30", "d", "1.5d", "-1d", "30 days", "0d"])
def test_bad_spans_name_the_option(text: str) -> None:
    with pytest.raises(KeyFieldError, match=r"^--expires: "):
        parse_span(text, "--expires")


def test_names() -> None:
    assert parse_names("coding,extraction", "--lanes") == ("coding", "extraction")
    assert parse_names(" coding , extraction,,coding ", "--lanes") == ("coding", "extraction")
    with pytest.raises(KeyFieldError, match=r"^--lanes: "):
        parse_names(" , ", "--lanes")


def test_budgets_at_most_one_per_window() -> None:
    assert parse_budgets(["50/day", "$1000.50/month"], "--budget") == (
        BudgetLimit("day", Decimal(50)),
        BudgetLimit("month", Decimal("1000.50")),
    )
    assert parse_budgets([], "--budget") == ()
    with pytest.raises(KeyFieldError, match=r"^--budget: two budgets for the day window"):
        parse_budgets(["50/day", "60/day"], "--budget")
    with pytest.raises(KeyFieldError, match=r"^--budget: a budget window is one of"):
        parse_budgets(["50/week"], "--budget")
    with pytest.raises(KeyFieldError, match=r"^--budget: a budget must be more than zero"):
        parse_budgets(["0/day"], "--budget")
