"""Captures in the ledger's PostgreSQL database (laneway.ledger.captures), shared by replicas:
a connection of their own, opened on first use and again after it is lost. The table is the
ledger's (schema step 7): open the ledger first, which migrates it. Errors name their class and
SQLSTATE, never the DSN."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

import psycopg

from laneway.ledger.captures import CAPTURE_COLUMNS, PAGE, CaptureRow, CaptureStoreError, where

_T = TypeVar("_T")
_Connection = psycopg.Connection[Any]
_COLUMNS = ", ".join(CAPTURE_COLUMNS)
_CASTS = ("text", "float8", "text", "text", "text", "text", "text", "text", "text", "text", "text")
_INSERT = (
    f"INSERT INTO captures ({_COLUMNS}) "  # noqa: S608 - constant names
    f"VALUES ({', '.join(f'%s::{cast}' for cast in _CASTS)}) ON CONFLICT (id) DO NOTHING"
)
_PAGE_SQL = (
    f"SELECT {_COLUMNS} FROM captures "  # noqa: S608 - constant names
    "WHERE created_at >= %s AND created_at < %s AND (created_at, id) > (%s, %s) {lane}"
    "ORDER BY created_at, id LIMIT %s"
)


class PostgresCaptures:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: _Connection | None = None
        self._lock = threading.Lock()

    def add(self, rows: Sequence[CaptureRow]) -> None:
        if not rows:
            return

        def insert(conn: _Connection) -> None:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(_INSERT, [row.values() for row in rows])

        self._call(insert)

    def rows(
        self, lane: str | None, since: float | None, until: float | None
    ) -> Iterator[CaptureRow]:
        low, high = where(lane, since, until)
        sql = _PAGE_SQL.format(lane="" if lane is None else "AND lane = %s ")
        after: tuple[float, str] = (float("-inf"), "")
        while True:
            params: list[object] = [low, high, *after]
            if lane is not None:
                params.append(lane)
            params.append(PAGE)
            page = self._call(partial(_fetch, sql, tuple(params)))
            yield from (CaptureRow(*row) for row in page)
            if len(page) < PAGE:
                return
            after = (page[-1][1], page[-1][0])

    def count(self, lane: str | None, since: float | None, until: float | None) -> int:
        low, high = where(lane, since, until)
        sql = "SELECT count(*) FROM captures WHERE created_at >= %s AND created_at < %s"
        params: tuple[object, ...] = (low, high)
        if lane is not None:
            sql, params = sql + " AND lane = %s", (*params, lane)
        row = self._call(lambda conn: conn.execute(sql, params).fetchone())
        return int(row[0]) if row else 0

    def purge(self, older_than: float) -> int:
        def delete(conn: _Connection) -> int:
            return conn.execute(
                "DELETE FROM captures WHERE created_at < %s", (older_than,)
            ).rowcount

        return self._call(delete)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _call(self, operation: Callable[[_Connection], _T]) -> _T:
        """`operation` on the connection; tried once more on a new connection if it was lost."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(
                            self._dsn, autocommit=True, application_name="laneway-captures"
                        )
                    return operation(self._conn)
                except psycopg.OperationalError as error:
                    self._drop()
                    if attempt == 2:
                        raise _unavailable(error) from None
                except psycopg.Error as error:
                    raise _unavailable(error) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()


def _fetch(sql: str, params: tuple[object, ...], conn: _Connection) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _unavailable(error: psycopg.Error) -> CaptureStoreError:
    state = f" {error.sqlstate}" if error.sqlstate else ""
    return CaptureStoreError(f"captures in PostgreSQL: {type(error).__name__}{state}")
