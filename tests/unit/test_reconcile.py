"""Reconciliation names each residual by the reasons its records carry, and says so when none
can: a difference with every record exact is unexplained."""

from __future__ import annotations

from decimal import Decimal

from laneway.ledger.reconcile import reconcile
from laneway.ledger.record import Attempt, CostBasis, LedgerRecord
from laneway.usage import Usage


def record(
    n: int, cost: str | None, basis: CostBasis | None = None, **fields: object
) -> LedgerRecord:
    values: dict[str, object] = {"status": "ok", "usage": Usage(10, 5), **fields}
    return LedgerRecord(
        id=f"req_{n}", created_at=0.0, key_id=None, endpoint="chat", requested_model="gpt-5.4",
        stream=True, cost_usd=None if cost is None else Decimal(cost), cost_basis=basis,
        **values,  # type: ignore[arg-type]
    )  # fmt: skip


def test_an_exact_ledger_with_a_difference_is_unexplained() -> None:
    result = reconcile([record(1, "0.25"), record(2, "0.50")], Decimal("0.80"))
    assert result.difference == Decimal("0.05")
    assert not result.explained
    assert result.summary()[-1] == "the difference is unexplained: every record's cost is exact"


def test_each_reason_is_counted_and_named() -> None:
    hung = Attempt("emu", "gpt-5.4", None, 1000.0, "no answer: timed out")
    records = [
        record(1, "0.25"),
        record(2, "0.10", "estimated", status="broken"),
        record(3, None, "no_usage", usage=None),
        record(4, "0.20", "abandoned", attempts=(hung, hung, Attempt("emu", "gpt-5.4", 200, 1.0))),
        record(5, None, status="reserved"),  # its outcome was lost: not held against the bill
    ]
    result = reconcile(records, Decimal("0.70"))
    assert result.ledger_usd == Decimal("0.55")
    assert result.reasons == ("estimated", "no_usage", "abandoned")
    assert (result.lines["no_usage"].records, result.lines["no_usage"].unknown) == (1, 1)
    assert result.lines["abandoned"].given_up == 2
    assert result.lines["exact"].records == 1
    assert result.explained
    assert result.summary()[0] == "bill $0.70, ledger $0.55, difference $0.15"
