"""Opening the capture store in the ledger's backend (the composition root says which)."""

from __future__ import annotations

from pathlib import Path

from laneway.ledger.captures import CaptureStore
from laneway.ledger.captures_postgres import PostgresCaptures
from laneway.ledger.captures_sqlite import SQLiteCaptures


def open_captures(path: Path | None, dsn: str | None) -> CaptureStore:
    """The captures in the SQLite file at `path`, else in the PostgreSQL database at `dsn`."""
    if path is not None:
        return SQLiteCaptures(path)
    if dsn is None:
        raise ValueError("captures: neither a SQLite path nor a PostgreSQL DSN")
    return PostgresCaptures(dsn)
