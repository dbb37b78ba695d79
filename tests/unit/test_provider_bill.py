"""Reading a provider's bill from the Costs API: whole UTC days, every page, exact amounts;
against the emulator's own Costs API."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from laneway.emulator.bill import BillEntry
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.ledger.provider_bill import DAY, BillError, billed_usd, day_range
from laneway.usage import Usage


def test_a_range_widens_to_whole_utc_days() -> None:
    assert day_range(DAY * 10 + 5, DAY * 10 + 6) == (DAY * 10, DAY * 11)
    assert day_range(DAY * 10, DAY * 12) == (DAY * 10, DAY * 12)


def test_every_page_is_summed_exactly() -> None:
    now = time.time()
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        bill = emulator.engine.bill
        # Two calls 200 days apart: more than one page of daily buckets (180 at most).
        for at in (now - 200 * DAY, now):
            bill.record(BillEntry(at, "gpt-5.4", "key_a", "proj", False, Usage(1_000_000, 1)))
        start, end = day_range(now - 210 * DAY, now)
        total = billed_usd(emulator.base_url, "sk-admin", start, end)
        recent = billed_usd(emulator.base_url, "sk-admin", *day_range(now - DAY, now))
    assert total == 2 * recent
    assert recent == Decimal("2.5") + Decimal("0.000015")  # gpt-5.4: $2.50 in, $15 out per 1M


def test_an_answer_that_is_not_a_bill_is_one_error() -> None:
    def not_a_bill(url: str, headers: dict[str, str]) -> bytes:
        return b'{"object": "list", "data": [{"id": "gpt-5.4"}]}'

    with pytest.raises(BillError, match="answered something else"):
        billed_usd("http://provider/v1", "sk-admin", 0, DAY, get=not_a_bill)
