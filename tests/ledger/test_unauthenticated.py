"""Unauthenticated requests counted per (minute, reason, client): bounded memory and rows, a flush
scheduled once per burst, counts added to the stored ones through the real writer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from laneway.clock import ManualClock
from laneway.ledger.sqlite import SQLiteLedger
from laneway.ledger.unauthenticated import OTHER_CLIENT, UnauthenticatedTally
from laneway.ledger.writer import LedgerWriter
from tests.ledger.test_sqlite_ledger import reserved, settled

START = 1_767_225_600.0  # a whole minute


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[tuple[float, str, str, int]]] = []

    def add_unauthenticated(self, counts: list[tuple[float, str, str, int]]) -> None:
        self.batches.append(sorted(counts))


class Scheduled:
    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.calls.append((delay, callback))

    def run(self) -> None:
        calls, self.calls = self.calls, []
        for _, callback in calls:
            callback()


def test_counts_per_minute_reason_and_client_with_one_flush_per_burst() -> None:
    clock, sink, scheduled = ManualClock(START), Sink(), Scheduled()
    tally = UnauthenticatedTally(sink, clock, scheduled, flush_after_s=1.0)
    for _ in range(3):
        tally.count("invalid_key", "10.0.0.1")
    tally.count("missing_key", "10.0.0.1")
    clock.advance(61)
    tally.count("invalid_key", "10.0.0.2")
    assert [delay for delay, _ in scheduled.calls] == [1.0]  # one timer for the whole burst
    assert tally.pending == 5
    scheduled.run()
    assert sink.batches == [
        [
            (START, "invalid_key", "10.0.0.1", 3),
            (START, "missing_key", "10.0.0.1", 1),
            (START + 60, "invalid_key", "10.0.0.2", 1),
        ]
    ]
    assert tally.pending == 0
    tally.count("invalid_key", "10.0.0.2")
    assert len(scheduled.calls) == 1  # the next burst gets its own


def test_distinct_clients_per_minute_are_capped_and_the_rest_counted_as_other() -> None:
    clock, sink = ManualClock(START), Sink()
    tally = UnauthenticatedTally(sink, clock, max_clients=3)
    for n in range(1000):
        tally.count("invalid_key", f"10.0.{n // 256}.{n % 256}")
    tally.count("invalid_key", "10.0.0.1")  # one of the first three: still apart
    tally.flush()
    [batch] = sink.batches
    assert len(batch) == 4  # bounded, whatever the number of addresses
    by_client = {client: n for _, _, client, n in batch}
    assert by_client == {"10.0.0.0": 1, "10.0.0.1": 2, "10.0.0.2": 1, OTHER_CLIENT: 997}
    clock.advance(60)  # a new minute counts new addresses apart again
    tally.count("invalid_key", "10.9.9.9")
    tally.flush()
    assert sink.batches[1] == [(START + 60, "invalid_key", "10.9.9.9", 1)]


def test_counts_reach_the_table_through_the_writer_added_not_replaced(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger)
    clock = ManualClock(START)
    tally = UnauthenticatedTally(writer, clock)
    for _ in range(4):
        tally.count("invalid_key", "10.0.0.1")
    tally.flush()
    writer.flush(5)
    tally.count("invalid_key", "10.0.0.1")
    tally.flush()
    writer.close()
    assert ledger.unauthenticated(None, None) == [(START, "invalid_key", "10.0.0.1", 5)]
    ledger.close()


class Failing(SQLiteLedger):
    def add_unauthenticated(self, counts: Sequence[tuple[float, str, str, int]]) -> None:
        raise OSError("disk gone")


def test_a_failed_count_is_logged_and_the_records_still_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Failing(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger)
    writer.add_unauthenticated([(START, "invalid_key", "10.0.0.1", 7)])
    with caplog.at_level(logging.ERROR, logger="laneway.ledger.writer"):
        writer.settle(settled(reserved(1)), wait=True).result(5)
    writer.close()
    assert ledger.get(reserved(1).id) is not None
    assert "7 unauthenticated requests went uncounted: disk gone" in caplog.text
    ledger.close()


def test_a_count_after_the_writer_closed_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger)
    writer.close()
    tally = UnauthenticatedTally(writer, ManualClock(START))
    tally.count("missing_key", "10.0.0.1")
    with caplog.at_level(logging.ERROR):
        tally.flush()
    assert "1 unauthenticated requests went uncounted" in caplog.text
    ledger.close()
