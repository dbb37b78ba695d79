"""The batching writer: one transaction per batch, coalescing, delayed settlements, failures."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.ledger.record import LedgerRecord, Row
from laneway.ledger.repository import LedgerUnavailable
from laneway.ledger.sqlite import SQLiteLedger
from laneway.ledger.writer import LedgerWriter
from tests.ledger.test_sqlite_ledger import reserved, settled


class GatedLedger(SQLiteLedger):
    """Records every write; while `gate` is clear, a write waits, so the ops that follow
    queue up behind it and arrive as one batch."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.writes: list[tuple[list[str], list[str]]] = []
        self.events: list[str] = []
        self.fail_ids: set[str] = set()

    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        self.entered.set()
        assert self.gate.wait(10)
        if any(row[0] in self.fail_ids for row in settle):
            raise sqlite3.IntegrityError("a bad row")
        super().write(reserve, settle)
        self.writes.append(([row[0] for row in reserve], [row[0] for row in settle]))
        self.events.append("commit")

    def hold(self, writer: LedgerWriter) -> Future[None]:
        """Park the writer's thread inside a write of its own."""
        self.gate.clear()
        self.entered.clear()
        parked = writer.reserve(reserved(999))
        assert self.entered.wait(5)
        return parked


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[GatedLedger]:
    ledger = GatedLedger(tmp_path / "ledger.db")
    yield ledger
    ledger.gate.set()


def note(ledger: GatedLedger, future: Future[None], name: str) -> None:
    future.add_done_callback(lambda _: ledger.events.append(name))


def test_a_record_reserved_and_settled_in_one_batch_is_written_once(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated)
    gated.hold(writer)
    record = reserved(1)
    reservation = writer.reserve(record)
    note(gated, reservation, "reserved")
    writer.settle(settled(record))
    time.sleep(0.05)
    assert not reservation.done()  # nothing committed yet: the caller must not go on
    gated.gate.set()
    reservation.result(5)
    writer.flush(5)
    assert gated.writes[-1] == ([], [record.id])  # one settled row, no insert-then-replace
    # The reservation resolved only once that row was committed.
    assert gated.events.index("reserved") > gated.events.index("commit", 1)
    assert gated.get(record.id) == settled(record)
    writer.close()


def test_a_settlement_that_races_ahead_of_its_reservation_stays(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated, settle_delay_s=0.0)
    gated.hold(writer)
    record = reserved(2)
    writer.settle(settled(record))
    late = writer.reserve(record)  # e.g. a retried reservation
    gated.gate.set()
    late.result(5)
    writer.flush(5)
    assert gated.writes[-1] == ([], [record.id])
    assert gated.get(record.id) == settled(record)
    # Across batches too: a later reservation never replaces the settlement.
    writer.reserve(record).result(5)
    assert gated.get(record.id) == settled(record)
    writer.close()


def test_the_last_settlement_and_the_first_reservation_win(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated)
    gated.hold(writer)
    first, other = reserved(3), replace(reserved(3), key_id="key_b")
    writer.reserve(first)
    writer.reserve(other)
    gated.gate.set()
    writer.flush(5)
    assert gated.get(first.id) == first
    gated.hold(writer)
    early = replace(settled(first), status="error", cost_usd=None)
    writer.settle(early)
    writer.settle(settled(first))
    gated.gate.set()
    writer.flush(5)
    assert gated.writes[-1] == ([], [first.id])
    assert gated.get(first.id) == settled(first)
    writer.close()


def test_a_settlement_waits_for_a_reservation_to_ride_with(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated, settle_delay_s=30.0)
    first, second = reserved(4), reserved(5)
    writer.reserve(first).result(5)
    settling = writer.settle(settled(first))
    time.sleep(0.05)
    assert not settling.done()  # no transaction of its own
    writer.reserve(second).result(5)
    assert settling.done()
    assert gated.writes[-1] == ([second.id], [first.id])
    writer.close()


def test_a_lone_settlement_is_committed_within_its_delay(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated, settle_delay_s=0.05)
    record = reserved(6)
    writer.reserve(record).result(5)
    began = time.monotonic()
    writer.settle(settled(record)).result(5)
    assert 0.04 <= time.monotonic() - began < 2
    assert gated.get(record.id) == settled(record)
    writer.close()


def test_a_lazy_reservation_waits_for_company_then_commits_alone(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated, settle_delay_s=0.05)
    record = reserved(9)
    began = time.monotonic()
    writer.reserve(record, lazy=True).result(5)
    assert 0.04 <= time.monotonic() - began < 2  # it did not wake the thread on its own
    assert gated.get(record.id) == record
    eager = reserved(10)
    began = time.monotonic()
    writer.reserve(eager).result(5)
    assert time.monotonic() - began < 0.04
    writer.close()


def test_a_lazy_reservation_and_its_settlement_are_written_once(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger, settle_delay_s=60.0)
    record = reserved(11)
    writer.reserve(record, lazy=True)
    writer.settle(settled(record))
    writer.flush(5)
    assert ledger.get(record.id) == settled(record)
    writer.close()


def test_flush_and_close_commit_waiting_settlements(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger, settle_delay_s=60.0)
    first, second = reserved(7), reserved(8)
    writer.settle(settled(first))
    writer.flush(5)
    assert ledger.get(first.id) == settled(first)
    done = writer.settle(settled(second))
    writer.close()
    assert done.result(0) is None
    assert ledger.get(second.id) == settled(second)


def test_a_settlement_is_a_snapshot(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger, settle_delay_s=60.0)
    record = settled(reserved(9))
    writer.settle(record)
    record.status = "broken"  # the caller goes on with its object while the write waits
    record.cost_usd = Decimal(1)
    writer.flush(5)
    assert ledger.get(record.id) == settled(reserved(9))
    writer.close()


def test_a_record_that_cannot_be_stored_fails_its_future_not_its_caller(
    tmp_path: Path,
) -> None:
    writer = LedgerWriter(SQLiteLedger(tmp_path / "ledger.db"))
    record = settled(reserved(10))
    record.cost_usd = 0.1  # type: ignore[assignment]  # a bug elsewhere: not a Decimal
    with pytest.raises(AttributeError):
        writer.settle(record).result(5)
    assert writer.reserve(reserved(11)).result(5) is None
    writer.close()


def test_one_bad_row_fails_only_its_own_caller(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated)
    bad, good = reserved(12), reserved(13)
    gated.fail_ids.add(bad.id)
    gated.hold(writer)
    bad_reservation = writer.reserve(bad)
    good_reservation = writer.reserve(good)
    bad_settlement = writer.settle(settled(bad))
    good_settlement = writer.settle(settled(good))
    gated.gate.set()
    with pytest.raises(sqlite3.IntegrityError):
        bad_settlement.result(5)
    # The batch is retried alone, op by op: the reservation of the record whose settlement
    # fails still lands, visible as unsettled rather than lost.
    assert bad_reservation.result(5) is None
    assert good_reservation.result(5) is None
    assert good_settlement.result(5) is None
    assert gated.get(bad.id) == bad
    assert gated.get(good.id) == settled(good)
    writer.close()


def test_detached_writes_are_committed_and_coalesced_like_the_others(
    gated: GatedLedger,
) -> None:
    writer = LedgerWriter(gated)
    record = reserved(14)
    parked = gated.hold(writer)
    writer.reserve(record, wait=False)
    writer.settle(settled(record), wait=False)
    gated.gate.set()
    parked.result(5)
    writer.flush(5)
    assert gated.get(record.id) == settled(record)
    assert gated.writes[-1] == ([], [record.id])  # one write: the settled end state
    writer.close()


def test_a_failed_detached_write_is_logged_with_its_record_id(
    gated: GatedLedger, caplog: pytest.LogCaptureFixture
) -> None:
    writer = LedgerWriter(gated)
    bad, good, unstorable = reserved(15), reserved(16), settled(reserved(17))
    unstorable.cost_usd = 0.1  # type: ignore[assignment]  # a bug elsewhere: not a Decimal
    gated.fail_ids.add(bad.id)
    gated.hold(writer)
    writer.reserve(bad, wait=False)
    writer.reserve(good, wait=False)
    writer.settle(settled(bad), wait=False)
    writer.settle(settled(good), wait=False)
    writer.settle(unstorable, wait=False)  # fails at once, in the caller, without raising
    gated.gate.set()
    writer.flush(5)
    failed = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(bad.id in line and "a bad row" in line for line in failed), failed
    assert any(unstorable.id in line for line in failed), failed
    assert not any(good.id in line for line in failed)
    assert gated.get(bad.id) == bad  # its reservation landed alone
    assert gated.get(good.id) == settled(good)
    writer.close()


def test_detached_writes_lost_to_an_unavailable_store_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Down(SQLiteLedger):
        def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
            raise LedgerUnavailable("the store did not answer")

    writer = LedgerWriter(Down(tmp_path / "ledger.db"), settle_delay_s=60.0)
    records = [reserved(100 + n) for n in range(12)]
    for record in records:
        writer.settle(settled(record), wait=False)
    waited = writer.reserve(reserved(200))
    with pytest.raises(LedgerUnavailable):
        waited.result(5)
    writer.close()
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "the store did not answer" in line
    assert all(record.id in line for record in records[:10])
    assert line.endswith("and 2 more")


def test_a_cancelled_reservation_does_not_stop_the_writer(gated: GatedLedger) -> None:
    writer = LedgerWriter(gated)

    async def client_goes_away() -> None:
        gated.hold(writer)
        waiting = asyncio.ensure_future(asyncio.wrap_future(writer.reserve(reserved(14))))
        await asyncio.sleep(0.01)
        waiting.cancel()  # wrap_future cancels the writer's future too
        await asyncio.sleep(0.01)
        gated.gate.set()

    asyncio.run(client_goes_away())
    assert writer.reserve(reserved(15)).result(5) is None
    assert gated.get(reserved(14).id) == reserved(14)  # the write itself stands
    writer.close()


CRASH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from laneway.ledger.sqlite import SQLiteLedger
    from laneway.ledger.writer import LedgerWriter
    from tests.ledger.test_sqlite_ledger import reserved, settled

    writer = LedgerWriter(SQLiteLedger(Path(sys.argv[1])), settle_delay_s=60.0)
    record = reserved(16)
    writer.reserve(record).result(5)  # durable: the request would now call upstream
    writer.settle(settled(record))
    os._exit(0)  # the process dies before the settlement's commit
    """
)


def test_a_crash_between_reservation_and_settlement_leaves_the_reservation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    root = Path(__file__).parents[2]
    subprocess.run(
        [sys.executable, "-c", CRASH, str(path)],
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=60,
    )
    assert [r.id for r in SQLiteLedger(path).unsettled()] == [reserved(16).id]


def test_no_write_is_lost_or_left_waiting_under_concurrent_callers(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger, settle_delay_s=0.001)
    futures: list[Future[None]] = []

    def produce(base: int) -> None:
        for n in range(base, base + 300):
            record: LedgerRecord = reserved(n)
            futures.append(writer.reserve(record))
            if n % 3:
                futures.append(writer.settle(settled(record)))
            if n % 50 == 0:
                time.sleep(0.002)  # let the thread go idle now and then

    threads = [threading.Thread(target=produce, args=(i * 1000,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for future in futures:
        assert future.result(5) is None
    stored = {r.id: r for r in ledger.between(None, None)}
    assert len(stored) == 1200
    settlements = sum(1 for i in range(4) for n in range(i * 1000, i * 1000 + 300) if n % 3)
    assert sum(r.settled for r in stored.values()) == settlements
    writer.close()
