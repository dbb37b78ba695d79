"""Turning on SQLite's WAL mode when several openers may reach a new file at once.

Switching a database into WAL takes an exclusive lock, and SQLite answers "database is locked"
to the others at once, without waiting on the busy timeout: six threads opening a new file
together failed about one time in eight here. Workers of `laneway serve --workers N` open one
ledger together, so the switch is retried until the busy timeout has passed. Once a file is in
WAL mode it stays so, and the pragma returns at once.
"""

from __future__ import annotations

import sqlite3
import time

_PAUSE_S = 0.01


def enable_wal(db: sqlite3.Connection, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(_PAUSE_S)
