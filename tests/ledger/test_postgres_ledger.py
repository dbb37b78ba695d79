"""The PostgreSQL ledger on a real server: schema creation and migration by replicas starting
together, exact money, and writes that survive deadlocks, lock waits, terminated backends and a
server that goes away for a while. The behaviour it shares with SQLite is tested on both in
test_sqlite_ledger.py (its `ledger` fixture)."""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import replace
from decimal import MAX_PREC, Decimal, localcontext
from typing import Any

import psycopg
import pytest

from laneway.ledger.migrations import POSTGRES
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.record import LedgerRecord, to_row
from laneway.ledger.repository import LedgerUnavailable
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.money import usd_str
from laneway.schema.errors import SchemaTooNew
from tests.ledger.test_sqlite_ledger import reserved, settled
from tests.together import together

# The backends the ledger opens, told apart from the tests' own connections.
_LEDGER_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'laneway-ledger'"
)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresLedger]:
    ledger = PostgresLedger(postgres_url)
    yield ledger
    ledger.close()


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=autocommit, application_name="test")


def wait_for_a_lock_wait(admin: psycopg.Connection[Any], timeout: float = 10.0) -> int:
    """The pid of the ledger backend that is waiting for a lock, once one is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(_LEDGER_BACKENDS + " AND wait_event_type = 'Lock'").fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.005)
    raise AssertionError("the ledger never waited for the lock")


def wait_until_gone(admin: psycopg.Connection[Any], pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
        assert time.monotonic() < deadline, f"backend {pid} is still there"
        time.sleep(0.005)


class Background:
    """A call on a thread of its own, for a write that is meant to block."""

    def __init__(self, call: Callable[[], None]) -> None:
        self.done: Future[None] = Future()

        def run() -> None:
            try:
                call()
            except BaseException as error:  # noqa: BLE001 - handed to the test
                self.done.set_exception(error)
            else:
                self.done.set_result(None)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self, timeout: float = 30.0) -> None:
        self.done.result(timeout)


# Every committed row version, in commit order: a write retried after a rollback must appear
# once, and one whose commit was lost and retried must not appear twice with different values.
_AUDIT = """
CREATE TABLE audit (n SERIAL PRIMARY KEY, id TEXT, status TEXT, error TEXT);
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit (id, status, error) VALUES (NEW.id, NEW.status, NEW.error);
    RETURN NULL;
END $$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE ON requests FOR EACH ROW EXECUTE FUNCTION audit_row();
"""


def audit(admin: psycopg.Connection[Any]) -> list[tuple[str, str, str | None]]:
    rows = admin.execute("SELECT id, status, error FROM audit ORDER BY n").fetchall()
    return [(str(i), str(s), e) for i, s, e in rows]


def test_the_schema_has_exact_types(pg: PostgresLedger, postgres_url: str) -> None:
    with connect(postgres_url) as admin:
        types = dict(
            admin.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'requests'"
            ).fetchall()
        )
        version = admin.execute("SELECT value FROM ledger_meta").fetchall()
    assert types["cost_usd"] == "numeric"
    assert types["created_at"] == types["settled_at"] == "double precision"
    assert types["stream"] == types["shadow"] == "boolean"
    assert types["attempts"] == types["route"] == types["annotations"] == "text"
    assert types["input_tokens"] == "bigint"
    assert version == [(str(POSTGRES.latest),)]


def test_money_round_trips_as_the_exact_decimal_written(
    pg: PostgresLedger, postgres_url: str
) -> None:
    rng = random.Random(7)
    amounts = [
        Decimal("0.04388080"),
        Decimal("0.00000000000000000000000000000000000001"),
        Decimal("12345678901234567890.12345678"),  # 28 digits: as many as to_row keeps
        Decimal("1E-20"),
        Decimal("-0.5"),  # a refund, should one ever be recorded
        Decimal(0),
    ]
    amounts += [Decimal(rng.randrange(10**27)).scaleb(-rng.randrange(40)) for _ in range(200)]
    records = []
    for n, amount in enumerate(amounts):
        record = settled(reserved(n))
        record.cost_usd = amount
        record.created_at += 0.123456789  # times too: a double survives as written
        records.append(record)
    pg.settle(records)
    for record in records:
        stored = pg.get(record.id)
        assert stored == record
        assert stored is not None
        assert type(stored.cost_usd) is Decimal
        assert stored.cost_usd is not None
        assert usd_str(stored.cost_usd) == usd_str(record.cost_usd)  # type: ignore[arg-type]
    with connect(postgres_url) as admin:
        row = admin.execute("SELECT sum(cost_usd) FROM requests").fetchone()
    assert row is not None
    with localcontext(prec=MAX_PREC):  # no rounding at 28 digits
        exact = sum(amounts, Decimal(0))
    assert row[0] == exact
    assert pg.key_spend(None) == {"key_a": exact}


def test_reservations_left_unsettled_are_there_after_a_restart(postgres_url: str) -> None:
    first = PostgresLedger(postgres_url)
    first.reserve([reserved(1), reserved(2), reserved(3)])
    first.settle([settled(reserved(2))])
    first.close()  # the replica dies here: 1 and 3 never settle
    reopened = PostgresLedger(postgres_url)
    try:
        assert [r.id for r in reopened.unsettled()] == ["lw_000001", "lw_000003"]
        assert reopened.count_unsettled() == 2
    finally:
        reopened.close()
    with pytest.raises(RuntimeError, match="closed"):
        reopened.get("lw_000001")


def test_replicas_starting_together_create_the_schema_once(postgres_url: str) -> None:
    opened = _open_together(postgres_url, 8)
    try:
        for n, ledger in enumerate(opened):
            ledger.reserve([reserved(n)])
        assert len(list(opened[0].between(None, None))) == 8
    finally:
        for ledger in opened:
            ledger.close()
    with connect(postgres_url) as admin:
        assert admin.execute("SELECT key, value FROM ledger_meta").fetchall() == [
            ("schema_version", str(POSTGRES.latest))
        ]


def _open_together(url: str, count: int) -> list[PostgresLedger]:
    opened: list[PostgresLedger] = []
    errors = together(count, lambda: opened.append(PostgresLedger(url)))
    if errors:
        for ledger in opened:
            ledger.close()
    assert errors == []
    assert len(opened) == count
    return opened


_V1_SCHEMA = """
CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE requests (
    id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, key_id TEXT,
    endpoint TEXT NOT NULL, requested_model TEXT NOT NULL, stream BOOLEAN NOT NULL,
    status TEXT NOT NULL, answering_model TEXT, provider TEXT, upstream_request_id TEXT,
    attempts TEXT NOT NULL, http_status INTEGER, input_tokens BIGINT,
    cached_input_tokens BIGINT, cache_write_tokens BIGINT, output_tokens BIGINT,
    reasoning_tokens BIGINT, cost_usd NUMERIC, ttfb_ms DOUBLE PRECISION,
    latency_ms DOUBLE PRECISION, error TEXT, settled_at DOUBLE PRECISION
);
INSERT INTO ledger_meta VALUES ('schema_version', '1');
INSERT INTO requests (id, created_at, key_id, endpoint, requested_model, stream, status,
    attempts, cost_usd)
    VALUES ('req_old', 1767225600.0, 'key_a', 'chat', 'gpt-5.4', FALSE, 'ok', '[]', 0.25);
"""


def test_replicas_opening_a_version_1_ledger_together_migrate_it_once(postgres_url: str) -> None:
    with connect(postgres_url) as admin:
        admin.execute(_V1_SCHEMA)
    opened = _open_together(postgres_url, 4)
    try:
        ledger = opened[0]
        old = ledger.get("req_old")
        assert old is not None
        assert (old.status, old.cost_usd, old.lane, old.route, old.pair_id, old.shadow) == (
            "ok", Decimal("0.25"), None, None, None, False,
        )  # fmt: skip
        record = replace(reserved(1), lane="coding", route='{"policy":"cheapest"}')
        record.pair_id, record.shadow = "req_x", True
        opened[1].reserve([record])
        assert ledger.get(record.id) == record
        assert ledger.key_spend(None) == {"key_a": Decimal("0.25")}
    finally:
        for ledger in opened:
            ledger.close()
    with connect(postgres_url) as admin:
        assert admin.execute("SELECT value FROM ledger_meta").fetchall() == [
            (str(POSTGRES.latest),)
        ]
    PostgresLedger(postgres_url).close()  # opening a migrated ledger again changes nothing


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresLedger(postgres_url).close()
    with connect(postgres_url) as admin:
        admin.execute("UPDATE ledger_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(
        SchemaTooNew, match=f"version 99 at .* newer than this laneway's {POSTGRES.latest}"
    ):
        PostgresLedger(postgres_url)


def test_a_malformed_dsn_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match="malformed") as refused:
        PostgresLedger("host=127.0.0.1 password=hunter2-secret user")
    assert "hunter2" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_a_terminated_backend_is_replaced_and_nothing_is_lost(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Trust authentication ignores the password: it is here to be kept out of the log.
    url = postgres_url.replace("postgres@", "postgres:pw-s3cret@")
    ledger = PostgresLedger(url)
    try:
        ledger.reserve([reserved(1)])
        assert ledger.count_unsettled() == 1  # the reading connection is open too
        with connect(postgres_url) as admin:
            pids = [pid for (pid,) in admin.execute(_LEDGER_BACKENDS).fetchall()]
            assert len(pids) == 2
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with caplog.at_level(logging.WARNING, logger="laneway.ledger"):
            ledger.settle([settled(reserved(1))])
            ledger.reserve([reserved(2)])
            assert ledger.get(reserved(1).id) == settled(reserved(1))
        assert ledger.get(reserved(2).id) == reserved(2)
    finally:
        ledger.close()
    assert "reconnecting" in caplog.text
    assert "AdminShutdown 57P01" in caplog.text
    assert "s3cret" not in caplog.text
    assert "127.0.0.1:5432" not in caplog.text  # no DSN either


def test_a_write_waits_for_a_row_lock_and_commits_once(
    pg: PostgresLedger, postgres_url: str
) -> None:
    pg.reserve([reserved(1), reserved(2)])
    with connect(postgres_url) as admin, connect(postgres_url, autocommit=False) as other:
        admin.execute(_AUDIT)
        other.execute("SELECT 1 FROM requests WHERE id = %s FOR UPDATE", (reserved(2).id,))
        write = Background(lambda: pg.settle([settled(reserved(1)), settled(reserved(2))]))
        wait_for_a_lock_wait(admin)
        time.sleep(0.1)
        assert not write.done.done()
        other.commit()
        write.result()
        assert audit(admin) == [(reserved(1).id, "ok", None), (reserved(2).id, "ok", None)]
    assert pg.get(reserved(2).id) == settled(reserved(2))


def test_a_lock_timeout_is_retried_until_the_lock_is_free(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = PostgresLedger(postgres_url, lock_timeout_s=0.05)
    try:
        ledger.reserve([reserved(1)])
        with connect(postgres_url) as admin, connect(postgres_url, autocommit=False) as other:
            admin.execute(_AUDIT)
            other.execute("SELECT 1 FROM requests WHERE id = %s FOR UPDATE", (reserved(1).id,))
            with caplog.at_level(logging.WARNING, logger="laneway.ledger"):
                write = Background(lambda: ledger.settle([settled(reserved(1))]))
                time.sleep(0.6)  # several lock timeouts, each rolled back and retried
                assert not write.done.done()
                other.commit()
                write.result()
            assert audit(admin) == [(reserved(1).id, "ok", None)]
    finally:
        ledger.close()
    assert caplog.text.count("LockNotAvailable 55P03") >= 2


def test_a_deadlock_is_retried_and_the_batch_commits_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A real deadlock: the ledger locks row 1 then waits for row 2, which another transaction
    holds while it asks for row 1. The ledger's deadlock timeout is the shorter, so the ledger's
    transaction is the one PostgreSQL aborts; its retry then waits for the other to commit.
    (PostgreSQL looks for a cycle once, a deadlock timeout into a wait: the other transaction
    must be waiting by then, which the 1.5 s leaves ample time for.)"""
    ledger = PostgresLedger(postgres_url + "?options=-c%20deadlock_timeout%3D1500ms")
    first, second = reserved(1), reserved(2)
    try:
        ledger.reserve([first, second])
        with connect(postgres_url) as admin, connect(postgres_url, autocommit=False) as other:
            admin.execute(_AUDIT)
            other.execute("SET deadlock_timeout = '60s'")
            other.execute("UPDATE requests SET error = 'other' WHERE id = %s", (second.id,))
            with caplog.at_level(logging.WARNING, logger="laneway.ledger"):
                write = Background(lambda: ledger.settle([settled(second), settled(first)]))
                wait_for_a_lock_wait(admin)  # the ledger holds row 1 and waits for row 2
                # Blocks until PostgreSQL breaks the cycle by aborting the ledger's transaction.
                other.execute("UPDATE requests SET error = 'other' WHERE id = %s", (first.id,))
                other.commit()
                write.result()
            assert audit(admin) == [
                (second.id, "reserved", "other"),
                (first.id, "reserved", "other"),
                (first.id, "ok", None),
                (second.id, "ok", None),
            ]
        assert ledger.get(first.id) == settled(first)
        assert ledger.get(second.id) == settled(second)
    finally:
        ledger.close()
    assert "DeadlockDetected 40P01" in caplog.text


def test_a_backend_terminated_mid_write_is_replaced_and_the_write_lands(
    pg: PostgresLedger, postgres_url: str
) -> None:
    pg.reserve([reserved(1), reserved(2)])
    with connect(postgres_url) as admin, connect(postgres_url, autocommit=False) as other:
        admin.execute(_AUDIT)
        other.execute("SELECT 1 FROM requests WHERE id = %s FOR UPDATE", (reserved(2).id,))
        write = Background(lambda: pg.settle([settled(reserved(1)), settled(reserved(2))]))
        killed = wait_for_a_lock_wait(admin)  # row 1 is written, uncommitted
        admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
        wait_until_gone(admin, killed)  # the signal takes a moment to end it
        again = wait_for_a_lock_wait(admin)  # the whole batch, on a new connection
        assert again != killed
        other.commit()
        write.result()
        assert audit(admin) == [(reserved(1).id, "ok", None), (reserved(2).id, "ok", None)]
    assert pg.count_unsettled() == 0


def test_bad_data_is_neither_retried_nor_partly_written(
    pg: PostgresLedger, caplog: pytest.LogCaptureFixture
) -> None:
    good = to_row(reserved(1))
    bad = list(to_row(reserved(2)))
    bad[3] = None  # endpoint is NOT NULL
    began = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="laneway.ledger"),
        pytest.raises(psycopg.errors.NotNullViolation),
    ):
        pg.write([good, tuple(bad)], [])
    wrong_type = list(to_row(settled(reserved(3))))
    wrong_type[11] = "two hundred"  # http_status
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        pg.write([good], [tuple(wrong_type)])
    assert time.monotonic() - began < 2
    assert caplog.text == ""
    assert pg.get(reserved(1).id) is None  # one transaction: the good row went with it
    pg.write([good], [])
    assert pg.get(reserved(1).id) == reserved(1)


def test_nul_characters_are_stored_rather_than_the_record_lost(pg: PostgresLedger) -> None:
    # PostgreSQL text cannot hold U+0000; a client may send one in a model name.
    record = replace(settled(reserved(1)), requested_model="gpt\x00-5", error="bad\x00")
    pg.settle([record, settled(reserved(2))])
    stored = pg.get(record.id)
    assert stored is not None
    assert (stored.requested_model, stored.error) == ("gpt\ufffd-5", "bad\ufffd")
    assert stored.cost_usd == record.cost_usd
    assert pg.get(reserved(2).id) == settled(reserved(2))


def test_writers_sharing_rows_never_deadlock(postgres_url: str) -> None:
    """Two replicas settling the same rows, handed them in opposite orders: each batch takes
    its row locks in id order, so neither ever waits for the other in a cycle."""
    url = postgres_url + "?options=-c%20deadlock_timeout%3D20ms"
    ledgers = [PostgresLedger(url, retry_for_s=0.0), PostgresLedger(url, retry_for_s=0.0)]
    try:
        records = [settled(reserved(n)) for n in range(200)]
        ledgers[0].settle(records)

        def settle_all(ledger: PostgresLedger, order: list[LedgerRecord]) -> None:
            for _ in range(15):
                ledger.settle(order)

        writes = [
            Background(lambda: settle_all(ledgers[0], records)),
            Background(lambda: settle_all(ledgers[1], records[::-1])),
        ]
        for write in writes:
            write.result(120)  # with no retries, a deadlock would raise here
        assert {r.id: r for r in ledgers[1].between(None, None)} == {r.id: r for r in records}
    finally:
        for ledger in ledgers:
            ledger.close()


class Proxy:
    """A TCP relay to the PostgreSQL server that can be cut: every connection through it is
    closed, and new ones are closed as they arrive, until it is restored. To a client this is
    a server that went down and came back."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._up = True
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if not self._up:
                    client.close()
                    continue
                server = socket.create_connection(("127.0.0.1", 5432))
                self._sockets += [client, server]
            threading.Thread(target=_relay, args=(client, server), daemon=True).start()
            threading.Thread(target=_relay, args=(server, client), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._up = False
            for sock in self._sockets:
                _close(sock)
            self._sockets.clear()

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self.cut()
        self._listener.close()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    relay = Proxy()
    yield relay
    relay.close()


def test_a_write_outlasts_the_server_going_away(
    postgres_url: str, proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres_url.replace(":5432/", f":{proxy.port}/").replace("postgres@", "postgres:pw@")
    ledger = PostgresLedger(url, retry_for_s=30.0)
    try:
        ledger.reserve([reserved(1)])
        proxy.cut()
        with caplog.at_level(logging.WARNING, logger="laneway.ledger"):
            write = Background(lambda: ledger.settle([settled(reserved(1)), settled(reserved(2))]))
            time.sleep(1.0)
            assert not write.done.done()  # still retrying: the server is still away
            proxy.restore()
            write.result(15)
        assert caplog.text.count("reconnecting") >= 3
        assert ":pw@" not in caplog.text
    finally:
        ledger.close()
    direct = PostgresLedger(postgres_url)
    try:
        assert direct.get(reserved(1).id) == settled(reserved(1))
        assert direct.get(reserved(2).id) == settled(reserved(2))
    finally:
        direct.close()


def test_a_write_gives_up_after_its_retry_time(
    postgres_url: str, proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres_url.replace(":5432/", f":{proxy.port}/")
    ledger = PostgresLedger(url, retry_for_s=0.5)
    try:
        ledger.reserve([reserved(1)])
        proxy.cut()
        began = time.monotonic()
        with (
            caplog.at_level(logging.WARNING, logger="laneway.ledger"),
            pytest.raises(LedgerUnavailable) as failed,
        ):
            ledger.settle([settled(reserved(1))])
        assert 0.3 <= time.monotonic() - began < 5
        assert "giving up" in caplog.text
        assert isinstance(failed.value.__cause__, psycopg.OperationalError)
        assert url not in str(failed.value)
        proxy.restore()
        ledger.settle([settled(reserved(1))])  # the next write reconnects
        assert ledger.get(reserved(1).id) == settled(reserved(1))
    finally:
        ledger.close()


def test_the_writer_gives_up_on_a_batch_once_the_store_was_waited_for(
    postgres_url: str, proxy: Proxy
) -> None:
    """Not its own retries, nor row by row, on top of the repository's patience: an outage
    stalls the writer for one patience per batch, not several."""
    url = postgres_url.replace(":5432/", f":{proxy.port}/")
    ledger = PostgresLedger(url, retry_for_s=0.5)
    writer = LedgerWriter(ledger)
    try:
        writer.reserve(reserved(1)).result(5)
        proxy.cut()
        began = time.monotonic()
        pending = [writer.reserve(reserved(n)) for n in range(2, 6)]
        errors = [done.exception(10) for done in pending]
        assert all(isinstance(error, LedgerUnavailable) for error in errors)
        # One patience (0.5 s) per batch (at most two here), not 3 + 3 of them per batch.
        assert time.monotonic() - began < 2.5
        proxy.restore()
        writer.reserve(reserved(6)).result(5)  # and it writes again once the store is back
        assert ledger.get(reserved(6).id) == reserved(6)
    finally:
        writer.close()
        ledger.close()


def test_the_writer_commits_reservations_and_settlements(pg: PostgresLedger) -> None:
    writer = LedgerWriter(pg)
    try:
        first, second = reserved(1), reserved(2)
        writer.reserve(first).result(5)
        assert pg.get(first.id) == first
        both = [writer.settle(settled(first)), writer.reserve(second)]
        for done in both:
            assert done.result(5) is None
        writer.flush(5)
        assert pg.get(first.id) == settled(first)
        assert pg.get(second.id) == second
        assert [r.id for r in pg.unsettled()] == [second.id]
    finally:
        writer.close()


def test_two_replicas_writers_share_one_ledger_and_lose_nothing(postgres_url: str) -> None:
    ledgers = [PostgresLedger(postgres_url), PostgresLedger(postgres_url)]
    writers = [LedgerWriter(ledger, settle_delay_s=0.001) for ledger in ledgers]
    futures: list[Future[None]] = []
    try:

        def produce(writer: LedgerWriter, base: int) -> None:
            for n in range(base, base + 300):
                record = reserved(n)
                futures.append(writer.reserve(record))
                if n % 3:
                    futures.append(writer.settle(settled(record)))

        threads = [
            threading.Thread(target=produce, args=(writers[i % 2], i * 1000)) for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for future in futures:
            assert future.result(10) is None
        stored = {r.id: r for r in ledgers[1].between(None, None)}
        assert len(stored) == 1200
        for i in range(4):
            for n in range(i * 1000, i * 1000 + 300):
                assert stored[f"lw_{n:06d}"] == (settled(reserved(n)) if n % 3 else reserved(n))
    finally:
        for writer in writers:
            writer.close()
        for ledger in ledgers:
            ledger.close()


def test_unauthenticated_counts_are_added_to_the_stored_ones(pg: PostgresLedger) -> None:
    pg.add_unauthenticated([(60.0, "invalid_key", "10.0.0.1", 2), (0.0, "missing_key", "b", 1)])
    pg.add_unauthenticated([(60.0, "invalid_key", "10.0.0.1", 3)])
    assert pg.unauthenticated(None, None) == [
        (0.0, "missing_key", "b", 1),
        (60.0, "invalid_key", "10.0.0.1", 5),
    ]
    assert pg.unauthenticated(0.0, 60.0) == [(0.0, "missing_key", "b", 1)]
