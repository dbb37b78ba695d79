"""Budget counters seeded from the ledger at start-up.

The ledger is the truth about spend; the quota state only counts it for fast, atomic admission.
Memory state starts empty at every start, and Redis here may keep nothing on disk, so without
this a restart would hand every budget its whole window again. Seeding sets a period's settled
spend only where the state has none yet (`QuotaState.seed`): replicas starting beside running
ones, whose counters are live, change nothing.

What a crash left reserved but unsettled in the ledger has no cost, so it is not counted; the
requests it stands for were either never answered or answered without a record of their usage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from laneway.gateway.admission import Admission
from laneway.keys.model import VirtualKey
from laneway.ledger.repository import LedgerRepository
from laneway.pricing.worst_case import nano_ceil
from laneway.quota.budget import Window
from laneway.quota.state import BudgetCharge
from laneway.quota.windows import window_start


async def seed_budgets(
    admission: Admission, ledger: LedgerRepository, keys: Sequence[VirtualKey], now: float
) -> int:
    """Seed every configured budget's current period; returns how many budgets were seeded."""
    keyed = [(key, charge) for key in keys for charge in admission.key_charges(key)]
    shared = admission.shared_charges()
    if not keyed and not shared:
        return 0
    windows = {charge.window for _, charge in keyed} | {charge.window for charge in shared}
    by_key: dict[Window, dict[str, Decimal]] = {}
    by_lane: dict[Window, dict[str | None, Decimal]] = {}
    for window in windows:
        since = window_start(window, now)
        if keyed:
            by_key[window] = await asyncio.to_thread(ledger.key_spend, since)
        if shared:
            by_lane[window] = await asyncio.to_thread(ledger.lane_spend, since)
    seeded = 0
    for key, charge in keyed:
        seeded += await _seed(admission, charge, by_key[charge.window].get(key.id), now)
    for charge in shared:
        lanes = by_lane[charge.window]
        scope = charge.id.split(":")
        if scope[0] == "global":
            spent: Decimal | None = sum(lanes.values(), Decimal(0))
        else:  # "lane:<name>:<window>"
            spent = lanes.get(scope[1])
        seeded += await _seed(admission, charge, spent, now)
    return seeded


async def _seed(
    admission: Admission, charge: BudgetCharge, spent: Decimal | None, now: float
) -> int:
    if not spent:
        return 0
    await admission.state.seed(charge, now, nano_ceil(spent))
    return 1
