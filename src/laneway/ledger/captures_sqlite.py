"""Captures in the ledger's SQLite file (laneway.ledger.captures): a connection of their own,
so the capture writer's thread never waits on the ledger's lock. The table is the ledger's
(schema step 7): open the ledger first, which migrates it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from laneway.ledger.captures import CAPTURE_COLUMNS, PAGE, CaptureRow, CaptureStoreError, where

_BUSY_TIMEOUT_S = 5.0
_COLUMNS = ", ".join(CAPTURE_COLUMNS)
_INSERT = (
    f"INSERT OR IGNORE INTO captures ({_COLUMNS}) "  # noqa: S608 - constant names
    f"VALUES ({', '.join('?' for _ in CAPTURE_COLUMNS)})"
)
# Keyset pages: (created_at, id) after the last row read, so a page is one indexed range.
_PAGE_SQL = (
    f"SELECT {_COLUMNS} FROM captures "  # noqa: S608 - constant names
    "WHERE created_at >= ? AND created_at < ? AND (created_at, id) > (?, ?) {lane}"
    "ORDER BY created_at, id LIMIT ?"
)


class SQLiteCaptures:
    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=_BUSY_TIMEOUT_S
            )
        except sqlite3.Error as exc:
            raise CaptureStoreError(f"cannot open the captures in {path}: {exc}") from exc
        self._lock = threading.Lock()

    def add(self, rows: Sequence[CaptureRow]) -> None:
        if not rows:
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany(_INSERT, [row.values() for row in rows])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def rows(
        self, lane: str | None, since: float | None, until: float | None
    ) -> Iterator[CaptureRow]:
        low, high = where(lane, since, until)
        sql = _PAGE_SQL.format(lane="" if lane is None else "AND lane = ? ")
        after: tuple[float, str] = (float("-inf"), "")
        while True:
            params: list[object] = [low, high, *after]
            if lane is not None:
                params.append(lane)
            with self._lock:
                page = self._db.execute(sql, (*params, PAGE)).fetchall()
            yield from (CaptureRow(*row) for row in page)
            if len(page) < PAGE:
                return
            after = (page[-1][1], page[-1][0])

    def count(self, lane: str | None, since: float | None, until: float | None) -> int:
        low, high = where(lane, since, until)
        sql = "SELECT count(*) FROM captures WHERE created_at >= ? AND created_at < ?"
        params: tuple[object, ...] = (low, high)
        if lane is not None:
            sql, params = sql + " AND lane = ?", (*params, lane)
        with self._lock:
            return int(self._db.execute(sql, params).fetchone()[0])

    def purge(self, older_than: float) -> int:
        with self._lock:
            cursor = self._db.execute("DELETE FROM captures WHERE created_at < ?", (older_than,))
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
