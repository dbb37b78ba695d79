"""Token counts as typed on the command line."""

from __future__ import annotations

import pytest

from laneway.cli.amounts import parse_token_count
from laneway.cli.errors import CliError


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("300000", 300_000),
        ("300_000", 300_000),
        ("300,000", 300_000),
        ("300k", 300_000),
        ("300K", 300_000),
        ("1.2M", 1_200_000),
        ("1.05m", 1_050_000),
        (" 42 ", 42),
        ("0", 0),
        ("1.5k", 1_500),
        ("2e3", 2_000),
    ],
)
def test_accepted_forms(text: str, tokens: int) -> None:
    assert parse_token_count(text, "--input") == tokens


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "is not a token count"),
        ("", "is not a token count"),
        ("k", "is not a token count"),
        ("12q", "is not a token count"),
        ("nan", "is not a token count"),
        ("inf", "is not a token count"),
        ("-5", "cannot be negative"),
        ("-1k", "cannot be negative"),
        ("0.5", "not a whole number"),
        ("1.2345k", "not a whole number"),
        ("1e400", "too large"),
        ("9" * 40, "too large"),
    ],
)
def test_refused_forms_name_the_option(text: str, message: str) -> None:
    with pytest.raises(CliError, match=message) as info:
        parse_token_count(text, "--output")
    assert str(info.value).startswith("--output: ")
