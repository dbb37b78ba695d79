"""Budget counters from the ledger: seeded at start-up, and the ledger's truth the Redis state
recovers with (`LedgerTruth`).

The ledger is the truth about spend; the quota state only counts it for fast, atomic admission.
Memory state starts empty at every start, and Redis here may keep nothing on disk, so without
this a restart would hand every budget its whole window again. Memory is seeded at start
(`seed_budgets`: a period's settled spend, where the state has none yet). Redis is seeded by the
replica that finds no epoch there (at start, or after Redis lost its data), from `LedgerTruth`:
replicas starting beside running ones adopt the live epoch and change nothing.

What a crash left reserved but unsettled in the ledger has no cost, so it is not counted; the
requests it stands for were either never answered or answered without a record of their usage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal

from laneway.gateway.admission import Admission
from laneway.keys.model import VirtualKey
from laneway.ledger.repository import LedgerRepository
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.money import NanoUSD
from laneway.pricing.worst_case import nano_ceil
from laneway.quota.budget import Window
from laneway.quota.state import BudgetCharge
from laneway.quota.windows import window_start

FLUSH_TIMEOUT_S = 30.0
"""The longest a recovery waits for the ledger writer to land what it holds (then retries)."""


async def seed_budgets(
    admission: Admission, ledger: LedgerRepository, keys: Sequence[VirtualKey], now: float
) -> int:
    """Seed every configured budget's current period; returns how many budgets were seeded."""
    seeded = 0
    for charge, spent in await _spend(admission, ledger, keys, now):
        if spent:
            await admission.state.seed(charge, now, nano_ceil(spent))
            seeded += 1
    return seeded


class LedgerTruth:
    """The ledger as the Redis state asks it (`laneway.quota.state.LedgerTruth`)."""

    def __init__(
        self,
        admission: Admission,
        ledger: LedgerRepository,
        writer: LedgerWriter,
        keys: Callable[[], Sequence[VirtualKey]],
    ) -> None:
        self._admission = admission
        self._ledger = ledger
        self._writer = writer
        self._keys = keys

    async def flush(self) -> None:
        await asyncio.to_thread(self._writer.flush, FLUSH_TIMEOUT_S)

    async def spend(self, now: float) -> list[tuple[BudgetCharge, NanoUSD]]:
        keys = await asyncio.to_thread(self._keys)
        found = await _spend(self._admission, self._ledger, keys, now)
        return [(charge, nano_ceil(spent) if spent else 0) for charge, spent in found]

    async def settled_cost(self, record_id: str) -> NanoUSD | None:
        record = await asyncio.to_thread(self._ledger.get, record_id)
        if record is None or not record.settled:
            return None
        cost = record.cost_usd
        return nano_ceil(cost) if cost is not None and cost > 0 else 0


async def _spend(
    admission: Admission, ledger: LedgerRepository, keys: Sequence[VirtualKey], now: float
) -> list[tuple[BudgetCharge, Decimal | None]]:
    """Every configured budget with the ledger's spend in its period at `now` (None: none)."""
    keyed = [(key, charge) for key in keys for charge in admission.key_charges(key)]
    shared = admission.shared_charges()
    if not keyed and not shared:
        return []
    windows = {charge.window for _, charge in keyed} | {charge.window for charge in shared}
    by_key: dict[Window, dict[str, Decimal]] = {}
    by_lane: dict[Window, dict[str | None, Decimal]] = {}
    for window in windows:
        since = window_start(window, now)
        if keyed:
            by_key[window] = await asyncio.to_thread(ledger.key_spend, since)
        if shared:
            by_lane[window] = await asyncio.to_thread(ledger.lane_spend, since)
    found: list[tuple[BudgetCharge, Decimal | None]] = [
        (charge, by_key[charge.window].get(key.id)) for key, charge in keyed
    ]
    for charge in shared:
        lanes = by_lane[charge.window]
        scope = charge.id.split(":")
        if scope[0] == "global":
            found.append((charge, sum(lanes.values(), Decimal(0))))
        else:  # "lane:<name>:<window>"
            found.append((charge, lanes.get(scope[1])))
    return found
