"""A run's spend cap, held through reservations: before a call its worst case is reserved
against what the cap leaves (cap - charged - reserved); when it ends the reservation is replaced
by what it cost. So no call is sent that could take the run past its cap, however many run at
once. Issue 20's grader calls reserve through the same object.

A call whose cost is unknown (no usage, an unknown price) stays charged its worst case: the cap
assumes the most it could have cost, and it is counted. A reservation that does not fit waits
for calls in flight to settle; one that does not fit with nothing in flight never will, and the
run stops there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from laneway.errors import LanewayError
from laneway.pricing.money import usd_display

_ZERO = Decimal(0)


class RunCapError(LanewayError):
    """The run's worst case exceeds its spend cap (or is unknown against it), and it was not
    told to start anyway."""


@dataclass(slots=True)
class Reservation:
    worst_usd: Decimal


class SpendCap:
    """The cap (None: no cap, every reservation fits) and what is charged and reserved."""

    def __init__(self, cap_usd: Decimal | None, charged_usd: Decimal = _ZERO) -> None:
        self.cap_usd = cap_usd
        self.charged_usd = charged_usd  # settled calls: exact costs, worst cases for unknowns
        self.reserved_usd = _ZERO
        self.in_flight = 0
        self._settled = asyncio.Event()

    def fits(self, worst_usd: Decimal) -> bool:
        cap = self.cap_usd
        return cap is None or self.charged_usd + self.reserved_usd + worst_usd <= cap

    async def reserve(self, worst_usd: Decimal) -> Reservation | None:
        """Hold `worst_usd`, waiting for calls in flight to settle while it does not fit; None
        when it cannot fit even with nothing in flight."""
        while not self.fits(worst_usd):
            if self.in_flight == 0:
                return None
            self._settled.clear()
            await self._settled.wait()
        self.reserved_usd += worst_usd
        self.in_flight += 1
        return Reservation(worst_usd)

    def settle(self, reservation: Reservation, charge_usd: Decimal) -> None:
        """Replace the reservation by what the call is charged (its worst case when its cost is
        unknown: the caller decides, see `charge_of` in laneway.replay.costs)."""
        self.reserved_usd -= reservation.worst_usd
        self.in_flight -= 1
        self.charged_usd += charge_usd
        self._settled.set()

    def refusal(self, worst_usd: Decimal) -> str:
        """Why a reservation of `worst_usd` does not fit: for the run's `stopped`."""
        cap = self.cap_usd or _ZERO
        return (
            f"spend cap reached: {usd_display(self.charged_usd)} charged of "
            f"{usd_display(cap)}; the next call's worst case ({usd_display(worst_usd)}) "
            "does not fit"
        )
