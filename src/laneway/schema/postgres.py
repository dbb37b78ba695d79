"""Migrating a store in PostgreSQL: each step and its version bump in one transaction, under a
transaction-level advisory lock of the store's own, so that of several replicas opening an old
database at once one applies each step while the others wait and find it applied. DDL is
transactional here: a step is applied whole or not at all."""

from __future__ import annotations

from typing import Any

import psycopg

from laneway.schema.apply import apply_steps, refuse_newer
from laneway.schema.report import MigrationReport
from laneway.schema.steps import Step, StoreSchema

Connection = psycopg.Connection[Any]


def migrate_postgres(
    conn: Connection, schema: StoreSchema, *, check_only: bool = False
) -> MigrationReport:
    """Bring the store in `conn`'s database (an autocommit connection, no transaction open) to
    the latest version; see `apply_steps`. Opening a database at the latest takes no lock."""
    info = conn.info
    where = f"PostgreSQL database {info.dbname!r} on {info.host}:{info.port}"
    return apply_steps(
        schema,
        where,
        version=lambda: _version(conn, schema),
        next_step=lambda: _apply_next(conn, schema, where),
        check_only=check_only,
    )


def lock_key(schema: StoreSchema) -> int:
    """The advisory lock of a store's schema: "lw" and the store's name in ASCII, as a bigint
    ("lwledger", "lwkeys"): the keys the stores have always used, so that a replica of an older
    release serialises on the same lock."""
    return int.from_bytes(f"lw{schema.store}".encode("ascii"), "big")


def _apply_next(conn: Connection, schema: StoreSchema, where: str) -> Step | None:
    with conn.transaction():
        # However long another replica's migration takes: its end is this one's start.
        conn.execute("SET LOCAL lock_timeout = 0")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
        version = _version(conn, schema)  # again, under the lock: another replica may be ahead
        refuse_newer(schema, where, version)
        if version == schema.latest:
            return None
        step = schema.steps[version]
        for statement in step.statements:
            conn.execute(statement)  # DDL from constants
        _set_version(conn, schema, step.version)
    return step


def _version(conn: Connection, schema: StoreSchema) -> int:
    table = schema.meta_table
    # Asked of pg_tables, which this statement reads under its own snapshot, rather than by a
    # name lookup (to_regclass), which may answer from a catalog cache older than the lock and
    # miss the table another replica has just made. Asked at all, rather than failing on a
    # missing table: an error would abort the transaction.
    exists = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_tables WHERE tablename = %s "
        "AND schemaname = ANY (current_schemas(false)))",
        (table,),
    ).fetchone()
    if exists is None or not exists[0]:
        return 0
    row = conn.execute(
        f"SELECT value FROM {table} WHERE key = 'schema_version'"  # noqa: S608 - a constant
    ).fetchone()
    return 0 if row is None else int(row[0])


def _set_version(conn: Connection, schema: StoreSchema, version: int) -> None:
    table = schema.meta_table
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        f"INSERT INTO {table} VALUES ('schema_version', %s) "  # noqa: S608 - a constant
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(version),),
    )
