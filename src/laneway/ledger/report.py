"""Totals over ledger records: requests, tokens and cost, by model, day, key, provider or lane.

Money stays exact. A group with any record of unknown cost has an unknown total (`cost_usd`
None), and also reports the known part and how many records it lacks, so nothing unknown is
ever shown as zero and nothing known is hidden.

Refusals are requests too (one record each) but are counted apart: `refused` beside `failed`
in each group, and `refusal_totals` by origin, with the unauthenticated requests' counts (which
have no records, laneway.ledger.unauthenticated).

A replay run's records (`run_id` set) are no client's traffic: `by_run` sets them apart, so a
report totals traffic and each run separately.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from laneway.ledger.record import LedgerRecord

GroupBy = Literal["model", "day", "key", "provider", "lane"]


def _model(record: LedgerRecord) -> str:
    return record.answering_model or record.requested_model


def _day(record: LedgerRecord) -> str:
    return datetime.fromtimestamp(record.created_at, UTC).date().isoformat()


_GROUPERS: dict[GroupBy, Callable[[LedgerRecord], str]] = {
    "model": _model,
    "day": _day,
    "key": lambda record: record.key_id or "(none)",
    "provider": lambda record: record.provider or "(none)",
    "lane": lambda record: record.lane or "(none)",
}


@dataclass(slots=True)
class UsageTotals:
    group: str
    run: str | None = None  # the replay run these records belong to; None: traffic
    requests: int = 0
    failed: int = 0  # errors and broken streams
    refused: int = 0  # refused by laneway before any upstream call: they cost nothing
    unsettled: int = 0  # reserved, never settled: outcome lost (a crash)
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    known_cost_usd: Decimal = field(default_factory=Decimal)
    unknown_cost_requests: int = 0

    @property
    def cost_usd(self) -> Decimal | None:
        return self.known_cost_usd if self.unknown_cost_requests == 0 else None

    def add(self, record: LedgerRecord) -> None:
        self.requests += 1
        status = record.status
        if status in ("error", "broken"):
            self.failed += 1
        elif status == "refused":
            self.refused += 1
            return  # no usage, no cost: nothing else to add
        elif status == "reserved":
            self.unsettled += 1
        usage = record.usage
        if usage is not None:
            self.input_tokens += usage.input_tokens
            self.cached_input_tokens += usage.cached_input_tokens
            self.output_tokens += usage.output_tokens
            self.reasoning_tokens += usage.reasoning_tokens
        if record.cost_usd is not None:
            self.known_cost_usd += record.cost_usd
        elif record.status != "error" or usage is not None:
            # An error before any upstream answer cost nothing; anything else without a
            # price is money we cannot name.
            self.unknown_cost_requests += 1


def totals(
    records: Iterable[LedgerRecord], group_by: GroupBy, run: str | None = None
) -> list[UsageTotals]:
    """One `UsageTotals` per group, sorted by group name (`run`: the replay run they are of)."""
    grouper = _GROUPERS[group_by]
    groups: dict[str, UsageTotals] = {}
    for record in records:
        name = grouper(record)
        group = groups.get(name)
        if group is None:
            group = groups[name] = UsageTotals(name, run)
        group.add(record)
    return [groups[name] for name in sorted(groups)]


def by_run(
    records: Iterable[LedgerRecord],
) -> tuple[list[LedgerRecord], dict[str, list[LedgerRecord]]]:
    """The traffic (records of no replay run), and each replay run's records by run id, sorted
    by run id."""
    traffic: list[LedgerRecord] = []
    runs: dict[str, list[LedgerRecord]] = {}
    for record in records:
        run = record.run_id
        if run is None:
            traffic.append(record)
        else:
            runs.setdefault(run, []).append(record)
    return traffic, dict(sorted(runs.items()))


@dataclass(frozen=True, slots=True)
class RefusalTotals:
    refused: dict[str, int]  # records by their refusal's origin (laneway's or upstream's)
    unauthenticated: dict[str, int]  # requests without a valid key, by reason
    unauthenticated_clients: int  # distinct client addresses among them ("other" is one)


def refusal_totals(
    records: Iterable[LedgerRecord], counts: Iterable[tuple[float, str, str, int]]
) -> RefusalTotals:
    """Refusals by origin over `records`, and the unauthenticated `counts` (minute, reason,
    client, n) by reason; each mapping sorted by name."""
    refused: dict[str, int] = {}
    for record in records:
        origin = record.refusal
        if origin is not None:
            refused[origin] = refused.get(origin, 0) + 1
    unauthenticated: dict[str, int] = {}
    clients = set()
    for _, reason, client, n in counts:
        unauthenticated[reason] = unauthenticated.get(reason, 0) + n
        clients.add(client)
    return RefusalTotals(
        dict(sorted(refused.items())), dict(sorted(unauthenticated.items())), len(clients)
    )
