"""What a request really cost, under the tester's fault mix (tests/gateway/fault_mix.py).

Every difference between the ledger and the emulator's bill is named by records carrying a
reason: exact records match the bill to the last digit, call by call; every call the emulator
billed that no record answered with is an attempt a record marks as given up; and the broken
streams' estimates land within a few percent of what the emulator billed for them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.gateway.fault_mix import Books, run_mix

ESTIMATE_TOLERANCE = Decimal("0.03")


def check(books: Books, requests: int) -> dict[str, object]:
    records = books.records
    assert len(records) == requests
    assert all(record.settled for record in records)
    assert sum(books.charge(e) for e in books.journal.values()) == books.costs_api_usd

    # Exact records: the bill for the call each answered with, to the last digit.
    for record in records:
        if record.cost_basis is None:
            assert not any("no answer" in (a.error or "") for a in record.attempts), record
            assert (record.cost_usd or 0) == books.billed_for(record), record

    # The calls billed that no record answered with are the attempts given up, one for one,
    # each in a record that says so.
    assert len(books.unlinked()) == books.given_up_attempts() > 0
    for record in records:
        if any("body broken" in (a.error or "") or "no answer" in (a.error or "")
               for a in record.attempts):  # fmt: skip
            assert record.cost_basis in ("abandoned", "no_usage"), record

    reasons = books.by_reason()
    ledger_exact, bill_exact = reasons["exact"]
    assert ledger_exact == bill_exact
    bill = sum(billed for _, billed in reasons.values())
    ledger = sum(held for held, _ in reasons.values())
    assert bill == books.costs_api_usd
    assert ledger == sum((r.cost_usd or Decimal(0) for r in records), Decimal(0))

    estimated_ledger, estimated_bill = reasons["estimated"]
    assert estimated_bill > 0
    error = (estimated_ledger - estimated_bill) / estimated_bill
    assert abs(error) <= ESTIMATE_TOLERANCE, error

    reconciliation = books.reconciliation()
    assert reconciliation.difference == bill - ledger
    assert reconciliation.explained
    assert set(reconciliation.reasons) >= {"estimated", "abandoned"}
    return {
        basis: (
            str(held),
            str(billed),
            str(billed - held),
            sum((r.cost_basis or "exact") == basis for r in records),
        )
        for basis, (held, billed) in reasons.items()
    } | {"estimate error": f"{error:.4%}", "summary": reconciliation.summary()}


def test_every_difference_is_named_under_the_fault_mix(tmp_path: Path) -> None:
    check(run_mix(tmp_path, 180, seed=17), 180)


@pytest.mark.slow
def test_every_difference_is_named_under_the_fault_mix_at_full_size(tmp_path: Path) -> None:
    figures = check(run_mix(tmp_path, 1000, seed=17), 1000)
    print()  # noqa: T201 - the figures the report quotes
    for name, value in figures.items():
        print(name, value)  # noqa: T201
