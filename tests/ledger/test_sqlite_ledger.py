"""The ledger's behaviour on both backends (the `ledger` fixture), the SQLite file's own
(reopening, schema versions) and the batching writer over it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.ledger.migrations import SQLITE
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.record import COLUMNS, Attempt, LedgerRecord, Row, to_row
from laneway.ledger.repository import LedgerRepository
from laneway.ledger.sqlite import SQLiteLedger
from laneway.ledger.writer import LedgerWriter
from laneway.routing.observations import Observations
from laneway.schema.errors import SchemaTooNew
from laneway.usage import Usage


def reserved(n: int, at: float = 1_767_225_600.0) -> LedgerRecord:
    return LedgerRecord(
        id=f"lw_{n:06d}",
        created_at=at + n,
        key_id="key_a",
        endpoint="responses",
        requested_model="gpt-5.2",
        stream=n % 2 == 0,
    )


def settled(record: LedgerRecord) -> LedgerRecord:
    return replace(
        record,
        status="ok",
        answering_model="gpt-5.2-2025-12-11",
        provider="emulator",
        upstream_request_id="req_up",
        attempts=(
            Attempt("emulator", "gpt-5.2", 503, 12.5, "overloaded"),
            Attempt("emulator", "gpt-5.2", 200, 80.25),
        ),
        http_status=200,
        usage=Usage(
            10_000, 2_000, cached_input_tokens=1_024, cache_write_tokens=8, reasoning_tokens=512
        ),
        cost_usd=Decimal("0.04388080"),
        ttfb_ms=90.5,
        latency_ms=120.0,
        settled_at=record.created_at + 0.12,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerRepository]:
    """Each backend in turn: the tests that take this fixture are the behaviour both share."""
    store: LedgerRepository
    if request.param == "sqlite":
        store = SQLiteLedger(tmp_path / "ledger.db")
    else:
        store = PostgresLedger(request.getfixturevalue("postgres_url"))
    yield store
    store.close()


def test_a_settled_record_round_trips_exactly(ledger: LedgerRepository) -> None:
    record = reserved(1)
    ledger.reserve([record])
    assert ledger.get(record.id) == record
    final = settled(record)
    ledger.settle([final])
    stored = ledger.get(record.id)
    assert stored == final
    assert stored is not None
    assert stored.cost_usd == Decimal("0.0438808")  # exact, never through a float
    assert stored.settled


def test_a_response_id_names_its_owner_and_home(ledger: LedgerRepository) -> None:
    made = replace(settled(reserved(1)), key_id="key_alice", response_id="resp_1")
    ledger.settle([made, replace(settled(reserved(2)), key_id="key_bob")])
    assert ledger.response_home("resp_1") == ("key_alice", "emulator", "gpt-5.2-2025-12-11")
    assert ledger.response_home("resp_unknown") is None


def test_unknown_cost_and_missing_usage_stay_unknown(ledger: LedgerRepository) -> None:
    record = replace(reserved(2), status="error", http_status=502, error="bad gateway")
    ledger.settle([record])
    stored = ledger.get(record.id)
    assert stored is not None
    assert stored.usage is None
    assert stored.cost_usd is None


def test_annotations_round_trip_and_none_are_null(ledger: LedgerRepository) -> None:
    notes = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "note": 'ünï "quoted" \x00 \\'}
    noted = replace(settled(reserved(1)), annotations=notes)
    plain, empty = settled(reserved(2)), replace(settled(reserved(3)), annotations={})
    assert to_row(plain)[COLUMNS.index("annotations")] is None
    assert to_row(empty)[COLUMNS.index("annotations")] is None  # an empty mapping: NULL too
    ledger.reserve([replace(reserved(1), annotations={"stage": "reserved"})])
    ledger.settle([noted, plain, empty])
    assert ledger.get(noted.id) == noted
    for record in (plain, empty):
        stored = ledger.get(record.id)
        assert stored is not None
        assert stored.annotations is None


def test_none_is_stored_as_null_through_the_none_adapter(tmp_path: Path) -> None:
    # laneway.ledger.sqlite registers an adapter for None (binding it is then ~7x cheaper):
    # every None the ledger binds must still be SQL NULL, of type null, not some text.
    store = SQLiteLedger(tmp_path / "ledger.db")
    record = replace(reserved(4), status="error", http_status=502)
    store.settle([record])
    store.close()
    nones = [column for column, value in zip(COLUMNS, to_row(record), strict=True) if value is None]
    assert {"refusal", "cost_basis", "output_cap", "cost_usd", "input_tokens"} <= set(nones)
    db = sqlite3.connect(tmp_path / "ledger.db")
    try:
        types = db.execute(
            f"SELECT {', '.join(f'typeof({c})' for c in nones)} FROM requests"  # noqa: S608
        ).fetchone()
        assert set(types) == {"null"}
        assert db.execute("SELECT typeof(?)", (None,)).fetchone() == ("null",)
    finally:
        db.close()


def test_unsettled_records_survive_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = SQLiteLedger(path)
    first.reserve([reserved(1), reserved(2), reserved(3)])
    first.settle([settled(reserved(2))])
    first.close()  # the process dies here: 1 and 3 never settle
    reopened = SQLiteLedger(path)
    assert [r.id for r in reopened.unsettled()] == ["lw_000001", "lw_000003"]


def test_a_reservation_never_overwrites_its_settlement(ledger: LedgerRepository) -> None:
    record = reserved(4)
    ledger.settle([settled(record)])
    ledger.reserve([record])  # late, e.g. a retry of a lost write
    stored = ledger.get(record.id)
    assert stored is not None
    assert stored.status == "ok"


def test_between_selects_a_half_open_range(ledger: LedgerRepository) -> None:
    ledger.reserve([reserved(n) for n in range(10)])
    base = reserved(0).created_at
    assert [r.id for r in ledger.between(base + 3, base + 6)] == [
        "lw_000003", "lw_000004", "lw_000005",
    ]  # fmt: skip
    assert len(list(ledger.between(None, None))) == 10


def test_schema_version_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE ledger_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(
        SchemaTooNew, match=f"version 99 at .* newer than this laneway's {SQLITE.latest}"
    ):
        SQLiteLedger(path)


_V1_SCHEMA = """
CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE requests (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, key_id TEXT, endpoint TEXT NOT NULL,
    requested_model TEXT NOT NULL, stream INTEGER NOT NULL, status TEXT NOT NULL,
    answering_model TEXT, provider TEXT, upstream_request_id TEXT, attempts TEXT NOT NULL,
    http_status INTEGER, input_tokens INTEGER, cached_input_tokens INTEGER,
    cache_write_tokens INTEGER, output_tokens INTEGER, reasoning_tokens INTEGER,
    cost_usd TEXT, ttfb_ms REAL, latency_ms REAL, error TEXT, settled_at REAL
);
INSERT INTO ledger_meta VALUES ('schema_version', '1');
INSERT INTO requests (id, created_at, endpoint, requested_model, stream, status, attempts)
    VALUES ('req_old', 1767225600.0, 'chat', 'gpt-5.4', 0, 'reserved', '[]');
"""


def test_a_version_1_ledger_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with sqlite3.connect(path) as db:
        db.executescript(_V1_SCHEMA)
    ledger = SQLiteLedger(path)
    try:
        old = ledger.get("req_old")
        assert old is not None
        assert (old.status, old.lane, old.route, old.pair_id, old.shadow) == (
            "reserved", None, None, None, False,
        )  # fmt: skip
        record = replace(reserved(1), lane="coding", route='{"policy":"cheapest"}')
        record.pair_id, record.shadow = "req_x", True
        ledger.reserve([record])
        stored = ledger.get(record.id)
        assert stored is not None
        assert (stored.lane, stored.pair_id, stored.shadow) == ("coding", "req_x", True)
    finally:
        ledger.close()
    with sqlite3.connect(path) as db:
        version = db.execute("SELECT value FROM ledger_meta").fetchone()[0]
    assert version == str(SQLITE.latest)
    SQLiteLedger(path).close()  # opening a migrated ledger again changes nothing


def test_one_write_stores_reservations_then_settlements(ledger: LedgerRepository) -> None:
    # More rows than one statement takes, mixed with rows already stored either way.
    ledger.reserve([reserved(n) for n in range(0, 300, 3)])
    ledger.settle([settled(reserved(n)) for n in range(1, 300, 3)])
    reserve = [to_row(reserved(n)) for n in range(300)]
    settle = [to_row(settled(reserved(n))) for n in range(0, 300, 2)]
    ledger.write(reserve, settle)
    stored = {r.id: r for r in ledger.between(None, None)}
    assert len(stored) == 300
    for n in range(300):
        expected = settled(reserved(n)) if n % 2 == 0 or n % 3 == 1 else reserved(n)
        assert stored[f"lw_{n:06d}"] == expected


def test_a_row_whose_status_contradicts_its_kind_keeps_its_kind(ledger: LedgerRepository) -> None:
    # Not the writer's case, but the interface's promise: a reservation never replaces, a
    # settlement always does, whatever status the row carries.
    first, second = settled(reserved(1)), reserved(2)
    ledger.write([to_row(first)], [to_row(second)])
    ledger.write([to_row(reserved(1))], [to_row(reserved(2))])
    assert ledger.get(first.id) == first
    ledger.write([], [to_row(reserved(1))])
    assert ledger.get(first.id) == reserved(1)
    ledger.write([to_row(settled(reserved(2)))], [])
    assert ledger.get(second.id) == second


def test_the_writer_commits_in_order_and_resolves_futures(ledger: LedgerRepository) -> None:
    writer = LedgerWriter(ledger)
    record = reserved(5)
    first = writer.reserve(record)
    second = writer.settle(settled(record))  # in the same batch, after the reservation
    first.result(5)
    second.result(5)
    stored = ledger.get(record.id)
    assert stored is not None
    assert stored.status == "ok"
    writer.close()


def test_the_writer_snapshots_records(ledger: LedgerRepository) -> None:
    writer = LedgerWriter(ledger)
    record = reserved(6)
    writer.reserve(record)
    record.status = "ok"  # the caller moves on before the write happens
    writer.flush(5)
    stored = ledger.get(record.id)
    assert stored is not None
    assert stored.status == "reserved"
    writer.close()


class CountingLedger(SQLiteLedger):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls = 0

    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        self.calls += 1
        super().write(reserve, settle)


def test_writes_from_many_threads_are_batched(tmp_path: Path) -> None:
    ledger = CountingLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger)

    def produce(base: int) -> None:
        for n in range(500):
            writer.reserve(reserved(base + n))

    threads = [threading.Thread(target=produce, args=(i * 1000,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert len(list(ledger.between(None, None))) == 2000
    assert ledger.calls < 2000  # some writes shared a transaction


class FailingLedger(SQLiteLedger):
    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        if settle:
            raise sqlite3.OperationalError("disk I/O error")
        super().write(reserve, settle)


def test_a_failed_write_reaches_the_callers(tmp_path: Path) -> None:
    writer = LedgerWriter(FailingLedger(tmp_path / "ledger.db"))
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        writer.settle(settled(reserved(7))).result(5)
    assert writer.reserve(reserved(8)).result(5) is None  # the writer keeps going
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.reserve(reserved(9))


def test_lane_profiles_average_a_lanes_primary_answers_per_model(ledger: LedgerRepository) -> None:
    def answer(n: int, output: int, cached: int, **changes: object) -> LedgerRecord:
        record = replace(settled(reserved(n)), lane="coding", answering_model="gpt-5.4-mini")
        record.usage = Usage(1_000, output, cached_input_tokens=cached)
        return replace(record, **changes)  # type: ignore[arg-type]

    ledger.settle([
        answer(1, 100, 0),
        answer(2, 300, 500),
        answer(3, 9_999, 0, shadow=True),  # a shadow copy: not the lane's own answers
        answer(4, 9_999, 0, status="error"),
        answer(5, 9_999, 0, lane=None),  # a plain model id
        answer(6, 50, 1_000, answering_model="gpt-5.4"),
        answer(7, 9_999, 0, created_at=0.0),  # before the window
        answer(8, 9_999, 0, run_id="run_1"),  # a replay run's: not the lane's traffic
    ])  # fmt: skip
    assert ledger.get("lw_000008") == answer(8, 9_999, 0, run_id="run_1")  # stored, read back
    profiles = sorted(ledger.lane_profiles(1_000.0))
    assert profiles == [
        ("coding", "gpt-5.4", 1, 50.0, 1.0),
        ("coding", "gpt-5.4-mini", 2, 200.0, 0.25),
    ]
    observations = Observations.from_ledger(profiles)
    mini = observations.get("coding", "gpt-5.4-mini")
    assert mini is not None
    assert (mini.answers, mini.output_tokens, mini.cached_share) == (2, 200.0, 0.25)
    assert observations.get("coding", "gpt-5.2") is None


def test_key_spend_sums_each_keys_known_primary_cost_exactly(ledger: LedgerRepository) -> None:
    def spent(n: int, key: str | None, cost: str | None, **changes: object) -> LedgerRecord:
        record = replace(settled(reserved(n)), key_id=key)
        record.cost_usd = None if cost is None else Decimal(cost)
        return replace(record, **changes)  # type: ignore[arg-type]

    base = reserved(0).created_at
    ledger.settle([
        spent(0, "key_e", "0.75"),  # created at `since` exactly: counted
        spent(1, "key_a", "0.1"),
        spent(2, "key_a", "0.2"),  # 0.1 + 0.2 is 0.3 here, as it is not in binary floats
        spent(3, "key_a", "0.00000000000000000000000000000001"),  # beyond 28 digits of 0.3
        spent(4, "key_b", "1234567.000001"),
        spent(5, "key_b", "7", shadow=True),  # the shadow's spend is not the key's
        spent(6, "key_b", None),  # unknown cost: not counted as zero, not counted at all
        spent(7, None, "5"),  # no key
        spent(8, "key_c", "0.5", created_at=base - 100),  # before `since`
    ])  # fmt: skip
    ledger.reserve([replace(reserved(9), key_id="key_d")])  # reserved: no cost yet
    assert ledger.key_spend(base) == {
        "key_a": Decimal("0.30000000000000000000000000000001"),
        "key_b": Decimal("1234567.000001"),
        "key_e": Decimal("0.75"),
    }
    everything = ledger.key_spend(None)
    assert everything["key_c"] == Decimal("0.5")
    assert set(everything) == {"key_a", "key_b", "key_c", "key_e"}
    assert all(type(total) is Decimal for total in everything.values())
    assert ledger.key_spend(base + 1_000) == {}


def test_lane_spend_sums_each_lanes_known_primary_cost_exactly(ledger: LedgerRepository) -> None:
    def spent(n: int, lane: str | None, cost: str | None, **changes: object) -> LedgerRecord:
        record = replace(settled(reserved(n)), lane=lane)
        record.cost_usd = None if cost is None else Decimal(cost)
        return replace(record, **changes)  # type: ignore[arg-type]

    base = reserved(0).created_at
    ledger.settle([
        spent(0, "coding", "0.1"),
        spent(1, "coding", "0.2"),
        spent(2, None, "0.05"),  # outside any lane: still the gateway's spend
        spent(3, "coding", "9", shadow=True),  # a shadow is not the lane's spend
        spent(4, "extraction", None),  # unknown cost: not counted
        spent(5, "extraction", "1", created_at=base - 100),  # before `since`
    ])  # fmt: skip
    assert ledger.lane_spend(base) == {"coding": Decimal("0.3"), None: Decimal("0.05")}
    assert ledger.lane_spend(None)["extraction"] == Decimal("1")
    assert ledger.lane_spend(base + 1_000) == {}
