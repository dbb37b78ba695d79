"""The captures table in SQLite and PostgreSQL: rows stored and listed in pages (by lane, by
time), counted and purged; and the writer's retention purge, on its schedule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from laneway.capture.day_cap import MemoryDayCap
from laneway.capture.redaction import Redactor
from laneway.capture.writer import PURGE_EVERY_S, CaptureWriter
from laneway.clock import ManualClock
from laneway.ledger import captures
from laneway.ledger.captures import CaptureRow, CaptureStore
from laneway.ledger.captures_open import open_captures
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.sqlite import SQLiteLedger

DAY_S = 86_400


def row(number: int, created_at: float, lane: str | None = "support") -> CaptureRow:
    return CaptureRow(
        id=f"cap_{number:06d}",
        created_at=created_at,
        lane=lane,
        record_id=f"req_{number}",
        endpoint="responses",
        requested_model="lane:support",
        answering_model="gpt-5.4-mini",
        effort=None,
        request='{"model":"lane:support","input":"hi"}',
        answer='{"text":"hello","tool_calls":[]}',
        metadata=None,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaptureStore]:
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        SQLiteLedger(path).close()  # the ledger's schema holds the table
        opened = open_captures(path, None)
    else:
        dsn = request.getfixturevalue("postgres_url")
        PostgresLedger(dsn).close()
        opened = open_captures(None, dsn)
    yield opened
    opened.close()


def test_rows_are_listed_oldest_first_in_pages_by_lane_and_time(
    store: CaptureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(captures, "PAGE", 3)  # pages of 3, to read across their edges
    made = [row(n, 1000.0 + n // 2, "support" if n % 3 else None) for n in range(11)]
    store.add(list(reversed(made)))
    store.add(made[:2])  # an id stored already is left as it is
    assert list(store.rows(None, None, None)) == made
    assert list(store.rows("support", None, None)) == [r for r in made if r.lane == "support"]
    assert list(store.rows(None, 1001.0, 1003.0)) == made[2:6]
    assert store.count(None, None, None) == 11
    assert store.count("support", 1001.0, None) == len([r for r in made[2:] if r.lane])


def test_purge_deletes_only_what_is_older(store: CaptureStore) -> None:
    store.add([row(n, 1000.0 * n) for n in range(1, 6)])
    assert store.purge(3000.0) == 2
    assert [r.created_at for r in store.rows(None, None, None)] == [3000.0, 4000.0, 5000.0]


def test_the_writer_applies_retention_at_start_and_then_hourly(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    store = open_captures(path, None)
    clock = ManualClock()
    now = clock.time()
    store.add([row(1, now - 8 * DAY_S), row(2, now - 7 * DAY_S + 600)])
    writer = CaptureWriter(store, MemoryDayCap(10), Redactor(()), clock, retention_days=7)
    writer.flush()
    assert [r.id for r in store.rows(None, None, None)] == ["cap_000002"]
    clock.advance(1800)  # row 2 is past retention now, but the last purge was half an hour ago
    writer.flush()
    assert store.count(None, None, None) == 1
    clock.advance(PURGE_EVERY_S - 1800)
    writer.flush()
    assert store.count(None, None, None) == 0
    writer.close()
