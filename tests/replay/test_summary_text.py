from decimal import Decimal

import pytest

from laneway.replay.summary_text import money


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0.200801", "$0.2008"),
        ("0.0001330", "$0.000133"),
        ("0.0003", "$0.0003"),
        ("2.6712", "$2.67"),
        ("0.99996", "$1.00"),
        ("0", "$0.00"),
    ],
)
def test_money_shows_cents_from_a_dollar_and_four_significant_figures_below(
    amount: str, shown: str
) -> None:
    assert money(Decimal(amount)) == shown


def test_unknown_money_is_said_to_be_unknown() -> None:
    assert money(None) == "unknown"
