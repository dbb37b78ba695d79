"""What one replica knows of its own budget reservations, kept beside the Redis state so that a
loss of Redis' data loses nothing that only Redis held (redis_recovery uses it).

- `held`: reservations admitted under a budget and not yet settled or released (an admission
  still waiting for its answer included: `asking` counts those).
- `settled`: settlements made since the last time this replica confirmed that they are in the
  ledger while the epoch had not changed (a later re-seed reads them there). Until then a loss
  of Redis' data would lose them: the ledger may not have them yet (its writes are batched).

The request path touches it with a dict set and pop and a list append per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from laneway.quota.redis_link import bulk
from laneway.quota.state import BudgetCharge

# A held reservation: its JSON as Redis holds it, its budgets, when it was made.
Held: TypeAlias = tuple[bytes, tuple[BudgetCharge, ...], float]
# Where a budget is counted at a time, for registering at `now`: [counter key, ttl].
CounterAt: TypeAlias = Callable[[BudgetCharge, float, float], list[str]]

NO_EPOCH = bulk(b"")
"""The epoch a state sends before it has one (never started): the scripts then check none."""


class Book:
    __slots__ = ("asking", "epoch_bulk", "held", "keeping", "settled", "stale")

    def __init__(self) -> None:
        self.held: dict[str, Held] = {}
        self.settled: list[tuple[Held, int]] = []
        self.asking = 0  # admissions under a budget sent and not yet answered
        self.stale = False  # the epoch is not known good: a resync runs
        self.keeping = False  # settlements are kept (once started: a heartbeat drops them)
        self.epoch_bulk = NO_EPOCH  # the epoch as the scripts are sent it

    def settle(self, reservation_id: str, actual_nano: int) -> None:
        """The reservation's settlement is sent: it moves from held to settled."""
        held = self.held.pop(reservation_id, None)
        if held is not None and self.keeping:
            self.settled.append((held, actual_nano))

    def payload(
        self, counter_at: CounterAt, now: float, settled_from: int | None
    ) -> dict[str, Any]:
        """REGISTER's JSON: every held reservation, and the settlements from `settled_from` on
        (None: none), which the epoch may not count (it is new, and its seed may not have
        read them in the ledger)."""
        reservations = []
        for rid, (held, budgets, created) in self.held.items():
            counters = [counter_at(budget, created, now) for budget in budgets]
            reservations.append([rid, repr(created), _amount(held), held.decode(), counters])
        settled = []
        if settled_from is not None:
            for (_, budgets, created), actual in self.settled[settled_from:]:
                counters = [counter_at(budget, created, now) for budget in budgets]
                settled.append([str(actual), counters])
        return {"r": reservations, "s": settled}


def _amount(reservation: bytes) -> str:
    # The reservation JSON starts {"a":"<digits>", as RedisQuota.admit writes it.
    return reservation[6 : reservation.index(b'"', 6)].decode()
