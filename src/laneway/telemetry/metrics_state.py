"""What a scrape reads of the gateway's state, never the request path: budgets and key rate
limits from the quota state (memory, or Redis shared by every replica), upstream rate-limit
headroom and breakers from the health board, the ledger writer's backlog, and the ledger's
unsettled records (a query, so cached for `unsettled_every_s`).

Only known model names are labels (as in `metrics_counts`), and only keys that hold a label
slot (`KeyLabels`) have their budgets and limits read: the scrape's cost and the series it makes
stay bounded by `top_keys`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from laneway.clock import Clock
from laneway.gateway.admission import Admission
from laneway.keys.model import VirtualKey
from laneway.quota.state import BudgetCharge, QuotaUnavailable, RateLimit, Spend
from laneway.telemetry.metrics_counts import KeyLabels
from laneway.upstream.breaker import BreakerKey, BreakerStatus
from laneway.upstream.headroom import HeadroomView
from laneway.upstream.health import Health

log = logging.getLogger(__name__)

UNSETTLED_EVERY_S = 30.0


@dataclass(frozen=True, slots=True)
class RateReading:
    key: str  # the key's label
    limit: str  # "rpm" | "tpm"
    per_minute: int
    used: int


@dataclass(slots=True)
class Reading:
    """One scrape's view of the state. `quota_up` False: the quota state did not answer, and
    budgets and rate limits are left out rather than shown as zero."""

    budgets: list[tuple[BudgetCharge, Spend]] = field(default_factory=list)
    rates: list[RateReading] = field(default_factory=list)
    quota_up: bool = True
    headroom: Mapping[tuple[str, str], HeadroomView] = field(default_factory=dict)
    breakers: Mapping[BreakerKey, BreakerStatus] = field(default_factory=dict)
    backlog: int = 0
    unsettled: int | None = None


class StateReader:
    def __init__(
        self,
        admission: Admission,
        health: Health,
        backlog: Callable[[], int],
        count_unsettled: Callable[[], int],
        key_of: Callable[[str], VirtualKey | None],
        keys: KeyLabels,
        clock: Clock,
        *,
        known_models: frozenset[str] = frozenset(),
        unsettled_every_s: float = UNSETTLED_EVERY_S,
    ) -> None:
        self._admission = admission
        self._health = health
        self._backlog = backlog
        self._count_unsettled = count_unsettled
        self._key_of = key_of
        self._keys = keys
        self._clock = clock
        self._known = known_models
        self._every_s = unsettled_every_s
        self._unsettled: tuple[float, int] | None = None  # (read at, monotonic; count)

    async def read(self) -> Reading:
        known = self._known
        # Deployments under names laneway does not know (a provider that serves any name the
        # client writes) are left out: such a name is never a label.
        headroom = self._health.headroom.snapshot()
        breakers = self._health.breakers.snapshot()
        reading = Reading(
            headroom={name: view for name, view in headroom.items() if name[1] in known},
            breakers={name: status for name, status in breakers.items() if name[1] in known},
            backlog=self._backlog(),
        )
        try:
            await self._quota(reading)
        except QuotaUnavailable:
            reading.budgets, reading.rates, reading.quota_up = [], [], False
        reading.unsettled = await self._unsettled_count()
        return reading

    async def _quota(self, reading: Reading) -> None:
        admission = self._admission
        state = admission.state
        now = self._clock.time()
        charges = list(admission.shared_charges())
        rates: list[tuple[str, RateLimit]] = []
        for key_id in list(self._keys.slots):
            key = self._key_of(key_id)
            if key is None:
                continue
            charges.extend(admission.key_charges(key))
            rates.extend((key_id, rate) for rate in admission.key_rates(key))
        spends = await state.spend(charges, now) if charges else []
        reading.budgets = list(zip(charges, spends, strict=True))
        if rates:
            used = await state.rate_use([rate for _, rate in rates], now)
            reading.rates = [
                RateReading(key, rate.id.rpartition(":")[2], rate.per_minute, count)
                for (key, rate), count in zip(rates, used, strict=True)
            ]

    async def _unsettled_count(self) -> int | None:
        """The ledger's reserved-but-unsettled records, read at most every `unsettled_every_s`
        (in a thread: the ledger blocks); None while it cannot be read."""
        now = self._clock.monotonic()
        held = self._unsettled
        if held is not None and now - held[0] < self._every_s:
            return held[1]
        try:
            count = await asyncio.to_thread(self._count_unsettled)
        except Exception as error:  # noqa: BLE001 - a scrape shows what it can
            log.warning("metrics: could not count unsettled ledger records: %s", error)
            return None
        self._unsettled = (now, count)
        return count
