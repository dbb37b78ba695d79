"""Virtual keys in PostgreSQL, shared by every replica (tables `virtual_keys`, `keys_meta`).

laneway creates and migrates the schema itself when a store is opened (laneway.keys.migrations),
under an advisory lock so that replicas starting together wait for one another instead of
failing on a half-made table. A lost connection is replaced once per call and the call retried;
every write is safe to repeat. Budgets are NUMERIC (exact), one column per window; lanes and
models are text arrays.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from laneway.keys import migrations
from laneway.keys.columns import key_of, key_row
from laneway.keys.model import VirtualKey
from laneway.keys.secret import KEY_START, is_prefix
from laneway.keys.store import KeyExists, KeyNotFound, KeyRevoked, KeyStoreError, PrefixInUse
from laneway.schema.postgres import migrate_postgres
from laneway.schema.report import MigrationReport

_COLUMNS = (
    "id", "name", "prefix", "digest", "created_at", "updated_at", "expires_at", "revoked_at",
    "rpm", "tpm", "budget_day", "budget_month", "budget_lifetime", "lanes", "models",
    "passthrough",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM virtual_keys"  # noqa: S608 - constant columns
_INSERT = (
    f"INSERT INTO virtual_keys ({', '.join(_COLUMNS)}) "  # noqa: S608 - constant columns
    f"VALUES ({', '.join('%s' for _ in _COLUMNS)})"
)
# See sqlite_store._FIND: an id wins over a prefix, a prefix over a name, live over revoked.
_FIND = (
    f"{_SELECT} WHERE id = %(ref)s OR prefix = %(prefix)s OR name = %(ref)s "
    "ORDER BY id = %(ref)s DESC, prefix = %(prefix)s DESC, revoked_at IS NULL DESC, "
    "created_at DESC LIMIT 1"
)

T = TypeVar("T")
Connection = psycopg.Connection[TupleRow]


class PostgresKeyStore:
    """A `KeyStore` in PostgreSQL: one connection, shared between threads one call at a time."""

    def __init__(self, dsn: str, *, connect_timeout_s: int = 10, check_only: bool = False) -> None:
        """`check_only`: migrate nothing (`laneway migrate --check`)."""
        try:
            given = conninfo_to_dict(dsn)
        except psycopg.Error:
            # libpq's message would quote the DSN, which may hold a password.
            raise KeyStoreError(
                "the key store's PostgreSQL DSN (ledger.dsn or its variable) is malformed"
            ) from None
        password = given.get("password")
        self._hidden = [dsn, *([str(password)] if password else [])]
        self._dsn = dsn
        # Settings the DSN (or libpq's variables) do not make: a bounded connect, and a name in
        # pg_stat_activity.
        self._options: dict[str, Any] = {}
        if "connect_timeout" not in given and not os.environ.get("PGCONNECT_TIMEOUT"):
            self._options["connect_timeout"] = connect_timeout_s
        if "application_name" not in given and not os.environ.get("PGAPPNAME"):
            self._options["application_name"] = "laneway-keys"
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        try:
            self.migration: MigrationReport = self._run(
                lambda conn: migrate_postgres(conn, migrations.POSTGRES, check_only=check_only)
            )
        except BaseException:
            self.close()
            raise

    def add(self, key: VirtualKey) -> None:
        def work(conn: Connection) -> None:
            try:
                conn.execute(_INSERT, _row(key))
            except errors.UniqueViolation as exc:
                stored = _get(conn, key.id)
                if stored is not None and stored.digest == key.digest:
                    return  # this very insert, committed before a lost connection's retry
                constraint = exc.diag.constraint_name
                if constraint == migrations.LIVE_NAME:
                    raise KeyExists(key.name) from None
                if constraint == migrations.UNIQUE_PREFIX:
                    raise PrefixInUse(key.prefix) from None
                raise KeyStoreError(f"key id {key.id} is taken") from None

        self._run(work)

    def get(self, key_id: str) -> VirtualKey | None:
        return self._run(lambda conn: _get(conn, key_id))

    def by_prefix(self, prefix: str) -> VirtualKey | None:
        return self._run(lambda conn: _one(conn, f"{_SELECT} WHERE prefix = %s", (prefix,)))

    def find(self, ref: str) -> VirtualKey | None:
        bare = ref.removeprefix(KEY_START)
        args = {"ref": ref, "prefix": bare if is_prefix(bare) else ref}
        return self._run(lambda conn: _one(conn, _FIND, args))

    def all(self) -> list[VirtualKey]:
        return self._run(lambda conn: _many(conn, f"{_SELECT} ORDER BY created_at, id", ()))

    def changed_since(self, since: float) -> list[VirtualKey]:
        query = f"{_SELECT} WHERE updated_at >= %s ORDER BY updated_at, id"
        return self._run(lambda conn: _many(conn, query, (since,)))

    def revoke(self, key_id: str, at: float) -> VirtualKey:
        def work(conn: Connection) -> VirtualKey:
            conn.execute(
                "UPDATE virtual_keys SET revoked_at = %s, updated_at = %s "
                "WHERE id = %s AND revoked_at IS NULL",
                (at, at, key_id),
            )
            found = _get(conn, key_id)
            if found is None:
                raise KeyNotFound(key_id)
            return found

        return self._run(work)

    def set_passthrough(self, key_id: str, granted: bool, at: float) -> VirtualKey:
        def work(conn: Connection) -> VirtualKey:
            conn.execute(
                "UPDATE virtual_keys SET passthrough = %s, updated_at = %s WHERE id = %s",
                (granted, at, key_id),
            )
            found = _get(conn, key_id)
            if found is None:
                raise KeyNotFound(key_id)
            return found

        return self._run(work)

    def replace_secret(self, key_id: str, prefix: str, digest: str, at: float) -> VirtualKey:
        def work(conn: Connection) -> VirtualKey:
            with conn.transaction():
                current = _one(conn, f"{_SELECT} WHERE id = %s FOR UPDATE", (key_id,))
                if current is None:
                    raise KeyNotFound(key_id)
                if current.prefix == prefix and current.digest == digest:
                    return current  # done already, before a lost connection's retry
                if current.revoked_at is not None:
                    raise KeyRevoked(current.name, current.prefix)
                try:
                    conn.execute(
                        "UPDATE virtual_keys SET prefix = %s, digest = %s, updated_at = %s "
                        "WHERE id = %s",
                        (prefix, digest, at, key_id),
                    )
                except errors.UniqueViolation:
                    raise PrefixInUse(prefix) from None
                updated = _get(conn, key_id)
            assert updated is not None  # noqa: S101 - held FOR UPDATE above
            return updated

        return self._run(work)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _run(self, work: Callable[[Connection], T]) -> T:
        """`work` on the connection, one call at a time; if the connection turns out lost, once
        more on a new one."""
        with self._lock:
            for retry in (False, True):
                conn = self._connection()
                try:
                    return work(conn)
                except psycopg.Error as exc:
                    if retry or not _lost(exc, conn):
                        raise KeyStoreError(f"PostgreSQL key store: {self._scrub(exc)}") from None
                    # The server went away under us (restart, failover, idle cut): reconnect.
            raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> Connection:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        self._conn = None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
        try:
            self._conn = psycopg.connect(self._dsn, autocommit=True, **self._options)
        except psycopg.Error as exc:
            raise KeyStoreError(
                f"cannot reach the PostgreSQL key store (ledger.backend = postgres): "
                f"{self._scrub(exc)}"
            ) from None
        return self._conn

    def _scrub(self, exc: BaseException) -> str:
        """The error's first line, without the DSN or its password should libpq echo them."""
        lines = str(exc).strip().splitlines()
        text = lines[0] if lines else type(exc).__name__
        for hidden in self._hidden:
            text = text.replace(hidden, "***")
        return text


def _lost(exc: psycopg.Error, conn: Connection) -> bool:
    """Whether the connection is gone: closed, broken, or ended by the server."""
    if conn.closed or conn.broken:
        return True
    state = exc.sqlstate
    if state is None:  # raised by psycopg itself: a connection-level failure
        return isinstance(exc, psycopg.OperationalError)
    # 08: connection exceptions; 57P01-3: the server shut down or the backend was terminated.
    return state.startswith("08") or state in {"57P01", "57P02", "57P03"}


def _get(conn: Connection, key_id: str) -> VirtualKey | None:
    return _one(conn, f"{_SELECT} WHERE id = %s", (key_id,))


def _one(conn: Connection, query: str, args: Sequence[Any] | dict[str, Any]) -> VirtualKey | None:
    row = conn.execute(query, args).fetchone()
    return None if row is None else _key(row)


def _many(conn: Connection, query: str, args: Sequence[Any]) -> list[VirtualKey]:
    return [_key(row) for row in conn.execute(query, args).fetchall()]


def _row(key: VirtualKey) -> tuple[Any, ...]:
    return key_row(key, list, lambda usd: usd)


def _key(row: TupleRow) -> VirtualKey:
    return key_of(row, list)
