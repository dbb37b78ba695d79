"""The ledger held against a provider's bill, each residual named by the reason its records carry.

A provider bills every call it served; the ledger keeps one record per request, its cost exact,
estimated or unknown, and `cost_basis` says which (`laneway.ledger.record`). Over a time range,
bill - ledger is the residual. Records with an exact cost account for none of it; the rest is
named by the reasons present:

    estimated   streams that broke: the ledger holds an estimate (input counted, output seen)
    no_usage    answers without usage: the ledger holds no cost for them at all
    abandoned   attempts given up after they were sent (timed out, cut before their first
                event, the client left): the provider may have billed them; the ledger has no
                figure for those attempts

A residual with no inexact record to name it is unexplained: a pricing error, a missing record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.pricing.money import usd_display

Basis = Literal["exact", "estimated", "no_usage", "abandoned"]
BASES: tuple[Basis, ...] = ("exact", "estimated", "no_usage", "abandoned")
# How an attempt given up after it was sent is recorded (laneway.gateway.attempts' reasons).
_GIVEN_UP = ("no answer:", "body broken:")
_ZERO = Decimal(0)


def given_up(attempt: Attempt) -> bool:
    """An attempt sent and then given up: the provider may have billed it."""
    return attempt.error is not None and attempt.error.startswith(_GIVEN_UP)


@dataclass(slots=True)
class Line:
    """The records of one basis: how many, what the ledger holds for them."""

    records: int = 0
    ledger_usd: Decimal = _ZERO  # the costs recorded (exact or estimated)
    unknown: int = 0  # records with no cost at all
    given_up: int = 0  # attempts given up after they were sent


@dataclass(slots=True)
class Reconciliation:
    bill_usd: Decimal  # what the provider billed over the range
    lines: dict[Basis, Line] = field(default_factory=lambda: {basis: Line() for basis in BASES})

    @property
    def ledger_usd(self) -> Decimal:
        return sum((line.ledger_usd for line in self.lines.values()), _ZERO)

    @property
    def difference(self) -> Decimal:
        """bill - ledger: what the provider billed that the ledger does not hold."""
        return self.bill_usd - self.ledger_usd

    @property
    def reasons(self) -> tuple[Basis, ...]:
        """The reasons that name the difference (the inexact bases with records)."""
        return tuple(basis for basis in BASES[1:] if self.lines[basis].records)

    @property
    def explained(self) -> bool:
        return self.difference == 0 or bool(self.reasons)

    def summary(self) -> list[str]:
        """The reconciliation in lines of text, one per basis with records, then the verdict."""
        out = [f"bill {usd_display(self.bill_usd)}, ledger {usd_display(self.ledger_usd)}, "
               f"difference {usd_display(self.difference)}"]  # fmt: skip
        for basis, line in self.lines.items():
            if not line.records:
                continue
            text = f"{basis}: {line.records} record(s), ledger {usd_display(line.ledger_usd)}"
            if line.unknown:
                text += f", {line.unknown} with no cost"
            if line.given_up:
                text += f", {line.given_up} attempt(s) given up after they were sent"
            out.append(text)
        if self.difference == 0:
            out.append("the ledger matches the bill")
        elif self.explained:
            out.append(f"the difference is named by: {', '.join(self.reasons)}")
        else:
            out.append("the difference is unexplained: every record's cost is exact")
        return out


def reconcile(records: Iterable[LedgerRecord], bill_usd: Decimal) -> Reconciliation:
    """Hold `records` (one time range's) against what the provider billed for that range."""
    result = Reconciliation(bill_usd)
    for record in records:
        if not record.settled:
            continue
        line = result.lines[record.cost_basis or "exact"]
        line.records += 1
        if record.cost_usd is None:
            line.unknown += record.usage is not None or record.cost_basis == "no_usage"
        else:
            line.ledger_usd += record.cost_usd
        line.given_up += sum(given_up(attempt) for attempt in record.attempts)
    return result
