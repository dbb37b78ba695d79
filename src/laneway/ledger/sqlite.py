"""The ledger in SQLite: WAL journal, one row per request, money as exact decimal text.

Money is stored as TEXT and summed in Python with Decimal: SQLite's SUM over numbers would go
through binary floating point. Attempts are a JSON array in one column; usage is four integer
columns (NULL when upstream reported none). The schema carries a version for later migrations.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.pricing.money import usd_str
from laneway.usage import Usage

SCHEMA_VERSION = 1


def default_ledger_path() -> Path:
    """$XDG_DATA_HOME/laneway/ledger.db, else ~/.local/share/laneway/ledger.db."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "laneway" / "ledger.db"


_COLUMNS = (
    "id", "created_at", "key_id", "endpoint", "requested_model", "stream", "status",
    "answering_model", "provider", "upstream_request_id", "attempts", "http_status",
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens", "cost_usd",
    "ttfb_ms", "latency_ms", "error", "settled_at",
)  # fmt: skip
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    key_id TEXT,
    endpoint TEXT NOT NULL,
    requested_model TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status TEXT NOT NULL,
    answering_model TEXT,
    provider TEXT,
    upstream_request_id TEXT,
    attempts TEXT NOT NULL,
    http_status INTEGER,
    input_tokens INTEGER,
    cached_input_tokens INTEGER,
    cache_write_tokens INTEGER,
    output_tokens INTEGER,
    reasoning_tokens INTEGER,
    cost_usd TEXT,
    ttfb_ms REAL,
    latency_ms REAL,
    error TEXT,
    settled_at REAL
);
CREATE INDEX IF NOT EXISTS requests_created ON requests (created_at);
CREATE INDEX IF NOT EXISTS requests_unsettled ON requests (status) WHERE status = 'reserved';
INSERT OR IGNORE INTO ledger_meta VALUES ('schema_version', '{SCHEMA_VERSION}');
"""  # noqa: S608 - DDL from constants; no request data is ever formatted into SQL
# Statements are assembled from the constant column names above; every value is bound.
_UPSERT = (
    f"INSERT OR REPLACE INTO requests ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_INSERT = _UPSERT.replace("INSERT OR REPLACE", "INSERT OR IGNORE")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM requests"  # noqa: S608


class SQLiteLedger:
    """A `LedgerRepository` in one SQLite file. Safe to call from one writer thread plus
    readers; each call takes a lock, as sqlite3 connections are not shared across threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a process crash; only a power loss can take
            # the last transactions, and the ledger's guarantee is about crashes.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            version = self._db.execute(
                "SELECT value FROM ledger_meta WHERE key = 'schema_version'"
            ).fetchone()[0]
        if int(version) != SCHEMA_VERSION:
            raise RuntimeError(
                f"{path}: ledger schema {version}, this laneway knows {SCHEMA_VERSION}"
            )

    def _write(self, sql: str, records: Sequence[LedgerRecord]) -> None:
        if not records:
            return
        rows = [_row(record) for record in records]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def reserve(self, records: Sequence[LedgerRecord]) -> None:
        # OR IGNORE: a reservation never overwrites a settlement that raced ahead of it.
        self._write(_INSERT, records)

    def settle(self, records: Sequence[LedgerRecord]) -> None:
        self._write(_UPSERT, records)

    def get(self, record_id: str) -> LedgerRecord | None:
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE id = ?", (record_id,)).fetchone()
        return None if row is None else _record(row)

    def unsettled(self) -> list[LedgerRecord]:
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT} WHERE status = 'reserved' ORDER BY created_at"
            ).fetchall()
        return [_record(row) for row in rows]

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
        return (_record(row) for row in rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _row(record: LedgerRecord) -> tuple[Any, ...]:
    usage = record.usage
    attempts = [
        {"provider": a.provider, "model": a.model, "status": a.status,
         "latency_ms": a.latency_ms, "error": a.error}
        for a in record.attempts
    ]  # fmt: skip
    return (
        record.id,
        record.created_at,
        record.key_id,
        record.endpoint,
        record.requested_model,
        int(record.stream),
        record.status,
        record.answering_model,
        record.provider,
        record.upstream_request_id,
        orjson.dumps(attempts).decode(),
        record.http_status,
        None if usage is None else usage.input_tokens,
        None if usage is None else usage.cached_input_tokens,
        None if usage is None else usage.cache_write_tokens,
        None if usage is None else usage.output_tokens,
        None if usage is None else usage.reasoning_tokens,
        None if record.cost_usd is None else usd_str(record.cost_usd),
        record.ttfb_ms,
        record.latency_ms,
        record.error,
        record.settled_at,
    )


def _record(row: tuple[Any, ...]) -> LedgerRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
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
    )
