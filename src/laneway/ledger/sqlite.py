"""The ledger in SQLite: WAL journal, one row per request, money as exact decimal text.

Money is stored as TEXT and summed in Python with Decimal: SQLite's SUM over numbers would go
through binary floating point. Attempts are a JSON array in one column; usage is four integer
columns (NULL when upstream reported none). The schema is made and migrated when a ledger is
opened, by the steps in laneway.ledger.migrations.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from decimal import MAX_PREC, Decimal, localcontext
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

from laneway.ledger import migrations
from laneway.ledger.record import COLUMNS, Attempt, LedgerRecord, Row, to_row
from laneway.ledger.repository import RESPONSE_HOME_SQL as _HOME
from laneway.ledger.repository import LedgerUnavailable, ResponseHome
from laneway.schema.report import MigrationReport
from laneway.schema.sqlite import migrate_sqlite, refuse_missing_file
from laneway.schema.wal import enable_wal
from laneway.usage import Usage


def _null(value: None) -> None:
    return value


# Python 3.11's sqlite3 binds None through its adapter protocol: a failed lookup of
# `__adapt__` and of `__conform__`, each raising and clearing an AttributeError, ~0.7 us per
# NULL parameter (a record binds about 15). With an adapter registered for NoneType the lookup
# finds it at once (~0.1 us); it returns None, which is bound as NULL as before. Registering is
# process-wide and idempotent, and changes no value anyone binds (tests/ledger checks NULLs).
sqlite3.register_adapter(type(None), _null)


def default_ledger_path() -> Path:
    """$XDG_DATA_HOME/laneway/ledger.db, else ~/.local/share/laneway/ledger.db."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "laneway" / "ledger.db"


# Statements are assembled from the constant column names of COLUMNS; every value is bound.
# OR IGNORE: a reservation never overwrites a settlement that raced ahead of it.
# SQLite's wait for another connection's lock (its default), and for the switch to WAL mode.
_BUSY_TIMEOUT_S = 5.0
_INSERT = (
    f"INSERT OR IGNORE INTO requests ({', '.join(COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)
# An upsert that updates in place: INSERT OR REPLACE would delete the row and insert it anew,
# touching every index twice; this touches only the indexes whose columns it sets.
_UPSERT = (
    _INSERT.replace("INSERT OR IGNORE", "INSERT")
    + " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in COLUMNS if column != "id")
)
# Reservations and settlements in one statement: a row still "reserved" never replaces a stored
# one (a reservation is ignored), a settled one does. Rows whose status contradicts their kind
# (never the writer's) take the exact statements above.
_VALUES = f"({', '.join('?' for _ in COLUMNS)})"
_MERGE_HEAD = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES "  # noqa: S608
_MERGE_TAIL = _UPSERT[_UPSERT.index(" ON CONFLICT") :] + " WHERE excluded.status <> 'reserved'"
_CHUNK = 64  # rows per statement: each row count is its own cached prepared statement
_STATUS = COLUMNS.index("status")
_ZERO = Decimal(0)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM requests"  # noqa: S608
_ADD_COUNT = (
    "INSERT INTO unauthenticated (minute, reason, client, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (minute, reason, client) DO UPDATE SET count = count + excluded.count"
)


class SQLiteLedger:
    """A `LedgerRepository` in one SQLite file. Safe to call from one writer thread plus
    readers; each call takes a lock, as sqlite3 connections are not shared across threads."""

    migration: MigrationReport  # what opening found and did to the schema

    def __init__(
        self, path: Path, *, checkpoint_every_s: float = 1.0, check_only: bool = False
    ) -> None:
        """`check_only`: migrate nothing, create no file; a schema behind raises
        SchemaPending (`laneway migrate --check`)."""
        refuse_missing_file(path, migrations.SQLITE, check_only=check_only)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=_BUSY_TIMEOUT_S
            )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnavailable(f"cannot open the ledger {path}: {exc}") from exc
        self._path = path
        self._lock = threading.Lock()
        try:
            self.migration = self._prepare(check_only)
        except BaseException:
            self._db.close()
            raise
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop,
            args=(checkpoint_every_s,),
            name="laneway-ledger-checkpoint",
            daemon=True,
        )
        self._checkpointer.start()

    def _prepare(self, check_only: bool) -> MigrationReport:
        """Settings, then the schema made or migrated (what that found and did)."""
        db = self._db
        try:
            with self._lock:
                enable_wal(db, _BUSY_TIMEOUT_S)
                # NORMAL in WAL mode: a commit survives a process crash; only a power loss can
                # take the last transactions, and the ledger's guarantee is about crashes.
                db.execute("PRAGMA synchronous=NORMAL")
                # Checkpoints (the only fsyncs in this mode, ~4 ms here) would run inside
                # whichever commit crossed the WAL's size limit, stalling the requests that wait
                # on it: p99 at one connection went from ~1 to ~4.5 ms. A thread of its own does
                # them instead.
                db.execute("PRAGMA wal_autocheckpoint=0")
                return migrate_sqlite(db, migrations.SQLITE, check_only=check_only)
        except sqlite3.Error as exc:
            raise LedgerUnavailable(f"cannot open the ledger {self._path}: {exc}") from exc

    def _checkpoint_loop(self, every_s: float) -> None:
        db = sqlite3.connect(self._path, isolation_level=None)
        try:
            while not self._stop.wait(every_s):
                # PASSIVE: never waits for readers or writers; what it cannot copy now it
                # copies next time. OperationalError: another process's checkpointer is at it.
                with contextlib.suppress(sqlite3.OperationalError):
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            db.close()

    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        # As few calls into SQLite as possible: each releases the GIL, and on a busy core each
        # one gives the event loop the CPU and waits for it back. One statement of up to
        # _CHUNK rows commits on its own; more take BEGIN and COMMIT around them.
        merged = [row for row in reserve if row[_STATUS] == "reserved"]
        merged += [row for row in settle if row[_STATUS] != "reserved"]
        odd = len(merged) != len(reserve) + len(settle)
        if not merged and not odd:
            return
        db = self._db
        with self._lock:
            if len(merged) <= _CHUNK and not odd:
                db.execute(_merge(len(merged)), tuple(chain.from_iterable(merged)))
                return
            db.execute("BEGIN")
            try:
                for start in range(0, len(merged), _CHUNK):
                    chunk = merged[start : start + _CHUNK]
                    db.execute(_merge(len(chunk)), tuple(chain.from_iterable(chunk)))
                if odd:
                    db.executemany(_INSERT, [r for r in reserve if r[_STATUS] != "reserved"])
                    db.executemany(_UPSERT, [r for r in settle if r[_STATUS] == "reserved"])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def reserve(self, records: Sequence[LedgerRecord]) -> None:
        self.write([to_row(record) for record in records], ())

    def settle(self, records: Sequence[LedgerRecord]) -> None:
        self.write((), [to_row(record) for record in records])

    def add_unauthenticated(self, counts: Sequence[tuple[float, str, str, int]]) -> None:
        if not counts:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_ADD_COUNT, counts)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def unauthenticated(
        self, since: float | None, until: float | None
    ) -> list[tuple[float, str, str, int]]:
        low = float("-inf") if since is None else since
        high = float("inf") if until is None else until
        with self._lock:
            rows = self._db.execute(
                "SELECT minute, reason, client, count FROM unauthenticated "
                "WHERE minute >= ? AND minute < ? ORDER BY minute, reason, client",
                (low, high),
            ).fetchall()
        return [(float(m), r, c, int(n)) for m, r, c, n in rows]

    def get(self, record_id: str) -> LedgerRecord | None:
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE id = ?", (record_id,)).fetchone()
        return None if row is None else from_row(row)

    def response_home(self, response_id: str) -> ResponseHome | None:
        with self._lock:
            row = self._db.execute(_HOME, (response_id,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def unsettled(self) -> list[LedgerRecord]:
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT} WHERE status = 'reserved' ORDER BY created_at"
            ).fetchall()
        return [from_row(row) for row in rows]

    def count_unsettled(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM requests WHERE status = 'reserved'")
            return int(row.fetchone()[0])

    def between(self, since: float | None, until: float | None) -> Iterator[LedgerRecord]:
        low = float("-inf") if since is None else since
        high = float("inf") if until is None else until
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT} WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
                (low, high),
            ).fetchall()
        return (from_row(row) for row in rows)

    def lane_profiles(self, since: float) -> list[tuple[str, str, int, float, float]]:
        """Per (lane, answering model) since `since`: answers, mean output tokens, and the
        mean cached share of input, over settled primary answers with usage."""
        with self._lock:
            rows = self._db.execute(
                "SELECT lane, answering_model, count(*), avg(output_tokens), "
                "avg(CASE WHEN input_tokens > 0 "
                "THEN CAST(cached_input_tokens AS REAL) / input_tokens ELSE 0 END) "
                "FROM requests WHERE created_at >= ? AND lane IS NOT NULL AND shadow = 0 "
                "AND run_id IS NULL "
                "AND status = 'ok' AND output_tokens IS NOT NULL "
                "GROUP BY lane, answering_model",
                (since,),
            ).fetchall()
        return [
            (lane, model, int(n), float(out), float(share)) for lane, model, n, out, share in rows
        ]

    def key_spend(self, since: float | None) -> dict[str, Decimal]:
        """Per key id: the cost of its records created at or after `since` (None: all time),
        exact. Shadow copies, records of unknown cost and records without a key are left out."""
        low = float("-inf") if since is None else since
        with self._lock:
            rows = self._db.execute(
                "SELECT key_id, cost_usd FROM requests WHERE created_at >= ? "
                "AND key_id IS NOT NULL AND cost_usd IS NOT NULL AND shadow = 0",
                (low,),
            ).fetchall()
        spend: dict[str, Decimal] = {}
        # Decimal rounds sums to 28 digits by default; with the largest precision nothing is
        # rounded (an addition's result is only as long as its operands need).
        with localcontext(prec=MAX_PREC):
            for key_id, cost in rows:
                spend[key_id] = spend.get(key_id, _ZERO) + Decimal(cost)
        return spend

    def lane_spend(self, since: float | None) -> dict[str | None, Decimal]:
        """Per lane (None: requests outside any lane): the cost of records created at or after
        `since` (None: all time), exact. Shadow copies and records of unknown cost are left
        out. Their sum is the gateway's whole spend."""
        low = float("-inf") if since is None else since
        with self._lock:
            rows = self._db.execute(
                "SELECT lane, cost_usd FROM requests WHERE created_at >= ? "
                "AND cost_usd IS NOT NULL AND shadow = 0",
                (low,),
            ).fetchall()
        spend: dict[str | None, Decimal] = {}
        with localcontext(prec=MAX_PREC):
            for lane, cost in rows:
                spend[lane] = spend.get(lane, _ZERO) + Decimal(cost)
        return spend

    def close(self) -> None:
        self._stop.set()
        self._checkpointer.join()
        with self._lock:
            with contextlib.suppress(sqlite3.OperationalError):
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self._db.close()


@cache
def _merge(rows: int) -> str:
    return _MERGE_HEAD + ", ".join([_VALUES] * rows) + _MERGE_TAIL


def from_row(row: Sequence[Any]) -> LedgerRecord:
    """The record a stored row (`COLUMNS` order) holds; for the PostgreSQL ledger too."""
    values = dict(zip(COLUMNS, row, strict=True))
    notes = values["annotations"]
    usage = None
    if values["input_tokens"] is not None:
        usage = Usage(
            input_tokens=values["input_tokens"],
            output_tokens=values["output_tokens"],
            cached_input_tokens=values["cached_input_tokens"],
            cache_write_tokens=values["cache_write_tokens"],
            reasoning_tokens=values["reasoning_tokens"],
        )
    return LedgerRecord(
        id=values["id"],
        created_at=values["created_at"],
        key_id=values["key_id"],
        endpoint=values["endpoint"],
        requested_model=values["requested_model"],
        stream=bool(values["stream"]),
        status=values["status"],
        answering_model=values["answering_model"],
        provider=values["provider"],
        upstream_request_id=values["upstream_request_id"],
        attempts=tuple(Attempt(**a) for a in orjson.loads(values["attempts"])),
        http_status=values["http_status"],
        usage=usage,
        cost_usd=None if values["cost_usd"] is None else Decimal(values["cost_usd"]),
        ttfb_ms=values["ttfb_ms"],
        latency_ms=values["latency_ms"],
        error=values["error"],
        settled_at=values["settled_at"],
        lane=values["lane"],
        route=values["route"],
        pair_id=values["pair_id"],
        shadow=bool(values["shadow"]),
        annotations=None if notes is None else orjson.loads(notes),
        refusal=values["refusal"],
        cost_basis=values["cost_basis"],
        output_cap=values["output_cap"],
        response_id=values["response_id"],
        path=values["path"],
        run_id=values["run_id"],
        trace_id=values["trace_id"],
    )
