"""A lane's live traffic from the ledger: the requests clients sent it over a window, per day.
Replay runs' records (run_id set), shadow copies and requests laneway refused before any call
are not traffic a change of model would serve, so they are not counted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from laneway.ledger.record import LedgerRecord

WINDOW_DAYS: Final = 7
DAY_S: Final = 86_400


@dataclass(frozen=True, slots=True)
class LaneTraffic:
    lane: str
    requests: int  # over the window
    days: int

    @property
    def per_day(self) -> Decimal:
        return Decimal(self.requests) / Decimal(self.days)


def lane_traffic(
    records: Iterable[LedgerRecord], lane: str, days: int = WINDOW_DAYS
) -> LaneTraffic:
    """The lane's traffic among `records` (those of the window: `ledger.between(now - days,
    now)`)."""
    counted = sum(
        1
        for record in records
        if record.lane == lane
        and record.run_id is None
        and not record.shadow
        and record.status != "refused"
    )
    return LaneTraffic(lane, counted, days)
