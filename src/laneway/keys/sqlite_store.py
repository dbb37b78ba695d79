"""Virtual keys in SQLite, in the ledger's database file (tables `virtual_keys`, `keys_meta`).

The ledger writes the same file from another connection, often another process: WAL lets
readers and one writer work at once, and the busy timeout waits out the writer instead of
failing. Budgets are exact decimal text, one column per window; lanes and models JSON arrays.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from laneway.keys import migrations
from laneway.keys.columns import key_of, key_row
from laneway.keys.model import VirtualKey
from laneway.keys.secret import KEY_START, is_prefix
from laneway.keys.store import KeyExists, KeyNotFound, KeyRevoked, KeyStoreError, PrefixInUse
from laneway.schema.report import MigrationReport
from laneway.schema.sqlite import migrate_sqlite, refuse_missing_file
from laneway.schema.wal import enable_wal

BUSY_TIMEOUT_S = 5.0

_COLUMNS = (
    "id", "name", "prefix", "digest", "created_at", "updated_at", "expires_at", "revoked_at",
    "rpm", "tpm", "budget_day", "budget_month", "budget_lifetime", "lanes", "models",
    "passthrough",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM virtual_keys"  # noqa: S608 - constant columns
_INSERT = (
    f"INSERT INTO virtual_keys ({', '.join(_COLUMNS)}) "  # noqa: S608 - constant columns
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
# One query for `find`: an id wins over a prefix, a prefix over a name, a live key over a
# revoked one of the same name, a newer over an older.
_FIND = (
    f"{_SELECT} WHERE id = ? OR prefix = ? OR name = ? "
    "ORDER BY id = ? DESC, prefix = ? DESC, revoked_at IS NULL DESC, created_at DESC LIMIT 1"
)


class SQLiteKeyStore:
    """A `KeyStore` in one SQLite file, safe to share between threads."""

    migration: MigrationReport  # what opening found and did to the schema

    def __init__(
        self, path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S, check_only: bool = False
    ) -> None:
        """`check_only`: migrate nothing, create no file (`laneway migrate --check`)."""
        self._path = path
        self._lock = threading.Lock()
        refuse_missing_file(path, migrations.SQLITE, check_only=check_only)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The timeout is SQLite's busy timeout: wait for the ledger's writer, not fail.
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_s
            )
        except (OSError, sqlite3.Error) as exc:
            raise KeyStoreError(f"cannot open the key store {path}: {exc}") from exc
        try:
            with self._use() as db:
                enable_wal(db, busy_timeout_s)
                db.execute("PRAGMA synchronous=NORMAL")
                self.migration = migrate_sqlite(db, migrations.SQLITE, check_only=check_only)
        except BaseException:
            self._db.close()
            raise

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The connection, to one thread at a time; SQLite's failures as KeyStoreError."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise KeyStoreError(f"key store {self._path}: {exc}") from exc

    def add(self, key: VirtualKey) -> None:
        with self._use() as db, _transaction(db):
            # Checked inside the write transaction: no other writer can add the name between.
            live = "SELECT 1 FROM virtual_keys WHERE name = ? AND revoked_at IS NULL"
            if db.execute(live, (key.name,)).fetchone():
                raise KeyExists(key.name)
            if db.execute("SELECT 1 FROM virtual_keys WHERE prefix = ?", (key.prefix,)).fetchone():
                raise PrefixInUse(key.prefix)
            db.execute(_INSERT, _row(key))

    def get(self, key_id: str) -> VirtualKey | None:
        return self._one(f"{_SELECT} WHERE id = ?", (key_id,))

    def by_prefix(self, prefix: str) -> VirtualKey | None:
        return self._one(f"{_SELECT} WHERE prefix = ?", (prefix,))

    def find(self, ref: str) -> VirtualKey | None:
        bare = ref.removeprefix(KEY_START)
        prefix = bare if is_prefix(bare) else ref
        return self._one(_FIND, (ref, prefix, ref, ref, prefix))

    def all(self) -> list[VirtualKey]:
        return self._many(f"{_SELECT} ORDER BY created_at, id", ())

    def changed_since(self, since: float) -> list[VirtualKey]:
        return self._many(f"{_SELECT} WHERE updated_at >= ? ORDER BY updated_at, id", (since,))

    def revoke(self, key_id: str, at: float) -> VirtualKey:
        with self._use() as db, _transaction(db):
            db.execute(
                "UPDATE virtual_keys SET revoked_at = ?, updated_at = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (at, at, key_id),
            )
            row = db.execute(f"{_SELECT} WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise KeyNotFound(key_id)
        return _key(row)

    def replace_secret(self, key_id: str, prefix: str, digest: str, at: float) -> VirtualKey:
        with self._use() as db, _transaction(db):
            row = db.execute(f"{_SELECT} WHERE id = ?", (key_id,)).fetchone()
            if row is None:
                raise KeyNotFound(key_id)
            current = _key(row)
            if current.revoked_at is not None:
                raise KeyRevoked(current.name, current.prefix)
            if db.execute("SELECT 1 FROM virtual_keys WHERE prefix = ?", (prefix,)).fetchone():
                raise PrefixInUse(prefix)
            db.execute(
                "UPDATE virtual_keys SET prefix = ?, digest = ?, updated_at = ? WHERE id = ?",
                (prefix, digest, at, key_id),
            )
            row = db.execute(f"{_SELECT} WHERE id = ?", (key_id,)).fetchone()
        return _key(row)

    def set_passthrough(self, key_id: str, granted: bool, at: float) -> VirtualKey:
        with self._use() as db, _transaction(db):
            db.execute(
                "UPDATE virtual_keys SET passthrough = ?, updated_at = ? WHERE id = ?",
                (int(granted), at, key_id),
            )
            row = db.execute(f"{_SELECT} WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise KeyNotFound(key_id)
        return _key(row)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _one(self, sql: str, args: tuple[Any, ...]) -> VirtualKey | None:
        with self._use() as db:
            row = db.execute(sql, args).fetchone()
        return None if row is None else _key(row)

    def _many(self, sql: str, args: tuple[Any, ...]) -> list[VirtualKey]:
        with self._use() as db:
            rows = db.execute(sql, args).fetchall()
        return [_key(row) for row in rows]


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so a read-then-write inside cannot be overtaken
    # by another connection.
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _row(key: VirtualKey) -> tuple[Any, ...]:
    return key_row(key, lambda names: orjson.dumps(list(names)).decode(), str)


def _key(row: tuple[Any, ...]) -> VirtualKey:
    return key_of(row, orjson.loads)
