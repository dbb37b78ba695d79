"""The ledger in PostgreSQL: one database that every gateway replica writes and reads.

Rows and meanings are the SQLite ledger's (laneway.ledger.sqlite), column for column: times are
epoch seconds (double precision), attempts and route are JSON text as written (jsonb would
reorder a route's keys and refuses the \\u0000 escape), stream and shadow are booleans, and money
is NUMERIC, read back as the exact Decimal written.

laneway creates the schema and migrates it when a ledger is opened (laneway.ledger.migrations,
laneway.schema.postgres): replicas that start together serialise that on an advisory lock, and
DDL is transactional here, so a migration is applied whole or not at all.

A batch is one transaction, pipelined, its rows in id order: two writers that share rows lock
them in the same order and cannot deadlock each other. A write that still fails on a deadlock,
a serialization failure or a lost connection (the server restarted, the backend was terminated)
is retried whole, reconnecting as needed, for up to `retry_for_s`: every statement is idempotent
(a reservation never overwrites, a settlement replaces), so a retry after a commit whose answer
was lost changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from laneway.ledger import migrations
from laneway.ledger.record import COLUMNS, LedgerRecord, Row, to_row
from laneway.ledger.repository import RESPONSE_HOME_SQL as _HOME
from laneway.ledger.repository import LedgerUnavailable, ResponseHome
from laneway.ledger.sqlite import from_row
from laneway.schema.postgres import migrate_postgres
from laneway.schema.report import MigrationReport

log = logging.getLogger(__name__)

_Connection = psycopg.Connection[TupleRow]
_T = TypeVar("_T")

# Every parameter is cast to its column's type, so that what psycopg guesses from the Python
# value (an int for a boolean, text for a number) never decides. A column missing here fails
# at import.
_CASTS = {
    "id": "text",
    "created_at": "float8",
    "key_id": "text",
    "endpoint": "text",
    "requested_model": "text",
    "stream": "int4::bool",  # a row holds 0 or 1, as SQLite stores it
    "status": "text",
    "answering_model": "text",
    "provider": "text",
    "upstream_request_id": "text",
    "attempts": "text",
    "http_status": "int4",
    "input_tokens": "int8",
    "cached_input_tokens": "int8",
    "cache_write_tokens": "int8",
    "output_tokens": "int8",
    "reasoning_tokens": "int8",
    "cost_usd": "numeric",  # exact decimal text in, exact NUMERIC stored
    "ttfb_ms": "float8",
    "latency_ms": "float8",
    "error": "text",
    "settled_at": "float8",
    "lane": "text",
    "route": "text",
    "pair_id": "text",
    "shadow": "int4::bool",
    "annotations": "text",  # JSON as written, like attempts and route
    "refusal": "text",
    "cost_basis": "text",
    "output_cap": "int8",
    "response_id": "text",
    "path": "text",
    "run_id": "text",
    "trace_id": "text",
}
# One statement for both kinds, so that a batch is one executemany in one id order: the last
# parameter says whether the row replaces a stored one (a settlement) or leaves it (a
# reservation). Assembled from the constant names above; every value is bound.
_WRITE = (
    f"INSERT INTO requests ({', '.join(COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(f'%s::{_CASTS[column]}' for column in COLUMNS)}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in COLUMNS if column != "id")
    + " WHERE %s::bool"
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM requests"  # noqa: S608
_ADD_COUNT = (
    "INSERT INTO unauthenticated (minute, reason, client, count) "
    "VALUES (%s::float8, %s::text, %s::text, %s::int8) "
    "ON CONFLICT (minute, reason, client) "
    "DO UPDATE SET count = unauthenticated.count + excluded.count"
)
_ID = itemgetter(0)

# Retried whole: serialization failure, deadlock, lock timeout, query cancelled, and class 53
# (too many connections, out of memory, disk full), which pass.
_TRANSIENT = frozenset({"40001", "40P01", "55P03", "57014"})
# The session is gone: admin or crash shutdown, the server starting up, connection exceptions.
_SESSION_ENDED = frozenset({"57P01", "57P02", "57P03"})
_FIRST_PAUSE_S = 0.05
_MAX_PAUSE_S = 2.0
# Connection settings laneway supplies unless the DSN (or libpq's variable) gives them: a name
# in pg_stat_activity, a bounded connect, and a dead peer noticed in about a minute instead of
# TCP's default of hours, so that a write in flight when the network fails is retried.
_CONNECT_DEFAULTS: dict[str, tuple[str | None, Any]] = {
    "application_name": ("PGAPPNAME", "laneway-ledger"),
    "connect_timeout": ("PGCONNECT_TIMEOUT", 10),
    "keepalives_idle": (None, 30),
    "keepalives_interval": (None, 10),
    "keepalives_count": (None, 3),
    "tcp_user_timeout": (None, 60_000),
}


class PostgresLedger:
    """A `LedgerRepository` in PostgreSQL, shared by replicas. Safe to call from one writer
    thread plus readers: writes and reads have a connection each, one caller at a time.

    `retry_for_s`: how long a write keeps retrying a transient failure before it raises.
    `lock_timeout_s`: None (the default) lets a write wait for a row lock as long as it is held
    (a wait loses nothing); a number bounds each wait, and a timed-out wait is retried."""

    def __init__(
        self,
        dsn: str,
        *,
        retry_for_s: float = 60.0,
        lock_timeout_s: float | None = None,
        check_only: bool = False,
    ) -> None:
        try:
            given = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            # libpq's message quotes the DSN, which may hold a password.
            raise ValueError("the ledger's PostgreSQL DSN is malformed") from None
        password = given.get("password")
        self._password = str(password) if password else None
        options = {
            name: value
            for name, (variable, value) in _CONNECT_DEFAULTS.items()
            if name not in given and not (variable and os.environ.get(variable))
        }
        lock_timeout_ms = None if lock_timeout_s is None else max(1, round(lock_timeout_s * 1000))

        def connect() -> _Connection:
            conn = psycopg.connect(dsn, autocommit=True, **options)
            if lock_timeout_ms is not None:
                try:
                    conn.execute(
                        "SELECT set_config('lock_timeout', %s, false)", (str(lock_timeout_ms),)
                    )
                except BaseException:
                    conn.close()
                    raise
            return conn

        self._retry_for_s = retry_for_s
        self._closed = False
        self._writes = _Link(connect)
        self._reads = _Link(connect)
        try:
            # Opening waits no longer than one try: a wrong DSN should say so at once.
            self.migration: MigrationReport = self._call(
                self._writes,
                lambda conn: migrate_postgres(conn, migrations.POSTGRES, check_only=check_only),
                what="schema setup",
                patience_s=0.0,
            )
        except psycopg.Error as error:
            self.close()
            raise LedgerUnavailable(
                f"cannot open the PostgreSQL ledger: {self._describe(error)}"
            ) from error
        except BaseException:
            self.close()
            raise

    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        if not reserve and not settle:
            return
        rows = [(*row, False) for row in reserve]
        rows += [(*row, True) for row in settle]
        # Stable: of two rows with one id, the reservation goes first, as the interface says.
        rows.sort(key=_ID)
        self._call(
            self._writes,
            lambda conn: _store(conn, rows),
            what=f"write of {len(rows)} rows",
            patience_s=self._retry_for_s,
        )

    def reserve(self, records: Sequence[LedgerRecord]) -> None:
        self.write([to_row(record) for record in records], ())

    def settle(self, records: Sequence[LedgerRecord]) -> None:
        self.write((), [to_row(record) for record in records])

    def add_unauthenticated(self, counts: Sequence[tuple[float, str, str, int]]) -> None:
        if not counts:
            return
        rows = sorted(counts)  # one lock order for every replica: no deadlock between them

        def add(conn: _Connection) -> None:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(_ADD_COUNT, rows)

        # No patience: counts are not retried (a retry after a lost commit would count twice).
        self._call(self._writes, add, what="count of unauthenticated requests", patience_s=0.0)

    def unauthenticated(
        self, since: float | None, until: float | None
    ) -> list[tuple[float, str, str, int]]:
        rows = self._rows(
            "SELECT minute, reason, client, count FROM unauthenticated "
            "WHERE minute >= %s::float8 AND minute < %s::float8 ORDER BY minute, reason, client",
            (float("-inf") if since is None else since, float("inf") if until is None else until),
        )
        return [(float(m), r, c, int(n)) for m, r, c, n in rows]

    def get(self, record_id: str) -> LedgerRecord | None:
        rows = self._rows(f"{_SELECT} WHERE id = %s", (record_id,))
        return from_row(rows[0]) if rows else None

    def response_home(self, response_id: str) -> ResponseHome | None:
        rows = self._rows(_HOME.replace("?", "%s"), (response_id,))
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else None

    def unsettled(self) -> list[LedgerRecord]:
        rows = self._rows(f"{_SELECT} WHERE status = 'reserved' ORDER BY created_at, id")
        return [from_row(row) for row in rows]

    def count_unsettled(self) -> int:
        return int(self._rows("SELECT count(*) FROM requests WHERE status = 'reserved'")[0][0])

    def between(self, since: float | None, until: float | None) -> Iterator[LedgerRecord]:
        low = float("-inf") if since is None else since
        high = float("inf") if until is None else until
        rows = self._rows(
            f"{_SELECT} WHERE created_at >= %s::float8 AND created_at < %s::float8 "
            "ORDER BY created_at, id",
            (low, high),
        )
        return (from_row(row) for row in rows)

    def lane_profiles(self, since: float) -> list[tuple[str, str, int, float, float]]:
        """Per (lane, answering model) since `since`: answers, mean output tokens, and the
        mean cached share of input, over settled primary answers with usage."""
        rows = self._rows(
            "SELECT lane, answering_model, count(*), avg(output_tokens::float8), "
            "avg(CASE WHEN input_tokens > 0 "
            "THEN cached_input_tokens::float8 / input_tokens ELSE 0 END) "
            "FROM requests WHERE created_at >= %s::float8 AND lane IS NOT NULL AND NOT shadow "
            "AND run_id IS NULL "
            "AND status = 'ok' AND output_tokens IS NOT NULL "
            "GROUP BY lane, answering_model",
            (since,),
        )
        return [
            (lane, model, int(n), float(out), float(share)) for lane, model, n, out, share in rows
        ]

    def key_spend(self, since: float | None) -> dict[str, Decimal]:
        """Per key id: the cost of its records created at or after `since` (None: all time),
        exact. Shadow copies, records of unknown cost and records without a key are left out."""
        rows = self._rows(
            "SELECT key_id, sum(cost_usd) FROM requests WHERE created_at >= %s::float8 "
            "AND key_id IS NOT NULL AND cost_usd IS NOT NULL AND NOT shadow GROUP BY key_id",
            (float("-inf") if since is None else since,),
        )
        return {key_id: Decimal(total) for key_id, total in rows}

    def lane_spend(self, since: float | None) -> dict[str | None, Decimal]:
        """Per lane (None: requests outside any lane): the cost of records created at or after
        `since` (None: all time), exact. Shadow copies and records of unknown cost are left
        out. Their sum is the gateway's whole spend."""
        rows = self._rows(
            "SELECT lane, sum(cost_usd) FROM requests WHERE created_at >= %s::float8 "
            "AND cost_usd IS NOT NULL AND NOT shadow GROUP BY lane",
            (float("-inf") if since is None else since,),
        )
        return {lane: Decimal(total) for lane, total in rows}

    def close(self) -> None:
        self._closed = True
        for link in (self._writes, self._reads):
            with link.lock:
                link.drop()

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[TupleRow]:
        # No patience: a reader (the CLI, a startup check) is better told at once. A connection
        # found broken on use is still replaced once, in `_call`.
        return self._call(
            self._reads,
            lambda conn: conn.execute(query, params).fetchall(),
            what="read",
            patience_s=0.0,
        )

    def _call(
        self,
        link: _Link,
        operation: Callable[[_Connection], _T],
        *,
        what: str,
        patience_s: float,
    ) -> _T:
        """`operation` on the link's connection, retried on transient failures for up to
        `patience_s` (measured from the call), reconnecting when the connection is gone."""
        started = time.monotonic()
        failures = 0
        with link.lock:
            while True:
                if self._closed:
                    raise RuntimeError("the PostgreSQL ledger is closed")
                was_open = link.open
                conn: _Connection | None = None
                try:
                    conn = link.connection()
                    return operation(conn)
                except psycopg.Error as error:
                    lost = _lost(error, conn)
                    if not lost and not _transient(error):
                        raise
                    if lost or (
                        conn is not None and conn.info.transaction_status != TransactionStatus.IDLE
                    ):
                        link.drop()
                    failures += 1
                    # A connection that died while idle (a restart, a terminated backend): the
                    # server is likely back already, so a new one is tried at once.
                    at_once = failures == 1 and lost and was_open
                    pause = 0.0 if at_once else _pause(failures, started + patience_s)
                    if pause is None:
                        if patience_s <= 0:
                            raise
                        raise self._gave_up(error, what, failures, started) from error
                    log.warning(
                        "ledger %s failed (%s); %s in %.2f s (try %d)",
                        what,
                        self._describe(error),
                        "reconnecting" if lost else "retrying",
                        pause,
                        failures,
                    )
                    if pause:
                        time.sleep(pause)

    def _gave_up(
        self, error: psycopg.Error, what: str, failures: int, started: float
    ) -> LedgerUnavailable:
        described = self._describe(error)
        log.error(
            "ledger %s: giving up after %d tries in %.1f s: %s",
            what,
            failures,
            time.monotonic() - started,
            described,
        )
        return LedgerUnavailable(
            f"ledger {what}: PostgreSQL unreachable after {failures} tries: {described}"
        )

    def _describe(self, error: psycopg.Error) -> str:
        """The error's class, SQLSTATE and first line, never the DSN or its password."""
        lines = str(error).strip().splitlines()
        text = lines[0] if lines else ""
        if self._password:
            text = text.replace(self._password, "***")
        state = f" {error.sqlstate}" if error.sqlstate else ""
        return f"{type(error).__name__}{state}: {text}"


class _Link:
    """One connection, opened on first use and again after it is dropped. Callers hold `lock`
    around any use: a psycopg connection runs one transaction at a time."""

    def __init__(self, connect: Callable[[], _Connection]) -> None:
        self._connect = connect
        self._conn: _Connection | None = None
        self.lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def connection(self) -> _Connection:
        conn = self._conn
        if conn is None or conn.closed:
            conn = self._conn = self._connect()
        return conn

    def drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()


def _pause(failures: int, deadline: float) -> float | None:
    """How long to wait before try `failures` + 1: doubling from the first pause, jittered so
    that replicas cut off together do not come back together, the last try at the deadline;
    None once the deadline has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    pause = min(_MAX_PAUSE_S, _FIRST_PAUSE_S * 2.0 ** (failures - 1))
    pause *= random.uniform(0.5, 1.0)  # noqa: S311 - not a secret
    return min(pause, left)


def _store(conn: _Connection, rows: list[tuple[Any, ...]]) -> None:
    try:
        _execute(conn, rows)
    except psycopg.DataError:
        # PostgreSQL text cannot hold U+0000 (SQLite can), and text such as a model name may
        # come from a client: the record is stored with U+FFFD there rather than lost.
        cleaned = _without_nul(rows)
        if cleaned is None:
            raise
        log.warning("ledger write: NUL characters in text stored as U+FFFD")
        _execute(conn, cleaned)


def _execute(conn: _Connection, rows: list[tuple[Any, ...]]) -> None:
    # The pipeline sends BEGIN, every row and COMMIT without waiting for each answer.
    with conn.pipeline(), conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(_WRITE, rows)


def _without_nul(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]] | None:
    """`rows` with U+0000 in text replaced by U+FFFD; None if there was none."""
    found = False
    cleaned = []
    for row in rows:
        if any(isinstance(value, str) and "\x00" in value for value in row):
            found = True
            row = tuple(  # noqa: PLW2901 - the cleaned row replaces it
                value.replace("\x00", "\ufffd") if isinstance(value, str) else value
                for value in row
            )
        cleaned.append(row)
    return cleaned if found else None


def _lost(error: psycopg.Error, conn: _Connection | None) -> bool:
    """Whether the connection is unusable after `error`, or never came up."""
    if conn is None:  # connecting failed
        return isinstance(error, psycopg.OperationalError)
    if conn.closed or conn.broken:
        return True
    state = error.sqlstate
    if state is None:
        # Raised by psycopg itself, not the server: a connection-level failure.
        return isinstance(error, psycopg.OperationalError)
    return state.startswith("08") or state in _SESSION_ENDED


def _transient(error: psycopg.Error) -> bool:
    state = error.sqlstate
    return state is not None and (state in _TRANSIENT or state.startswith("53"))
