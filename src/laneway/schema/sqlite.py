"""Migrating a store in SQLite: each step and its version bump in one BEGIN IMMEDIATE
transaction, which takes the file's write lock up front, so that of two processes opening an old
file at once one applies a step and the other, waiting, finds it applied."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from laneway.schema.apply import apply_steps, refuse_newer
from laneway.schema.errors import SchemaPending
from laneway.schema.report import MigrationReport
from laneway.schema.steps import Step, StoreSchema


def migrate_sqlite(
    db: sqlite3.Connection, schema: StoreSchema, *, check_only: bool = False
) -> MigrationReport:
    """Bring the store in `db` (a connection in autocommit mode: isolation_level None, no
    transaction open) to the latest version; see `apply_steps`."""
    where = _file_of(db)
    return apply_steps(
        schema,
        where,
        version=lambda: _version(db, schema),
        next_step=lambda: _apply_next(db, schema, where),
        check_only=check_only,
    )


def refuse_missing_file(path: Path, schema: StoreSchema, *, check_only: bool) -> None:
    """Opening to check only: a file that does not exist is not made, and has every step
    pending."""
    if check_only and not path.exists():
        where = str(path.absolute())
        report = MigrationReport(schema.store, schema.dialect, where, 0, schema.latest)
        raise SchemaPending(replace(report, pending=schema.steps))


def _apply_next(db: sqlite3.Connection, schema: StoreSchema, where: str) -> Step | None:
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _version(db, schema)  # again, under the lock: another process may be ahead
        refuse_newer(schema, where, version)
        step = None
        if version < schema.latest:
            step = schema.steps[version]
            for statement in step.statements:
                db.execute(statement)
            _set_version(db, schema, step.version)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return step


def _version(db: sqlite3.Connection, schema: StoreSchema) -> int:
    table = schema.meta_table
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if found is None:
        return 0
    row = db.execute(
        f"SELECT value FROM {table} WHERE key = 'schema_version'"  # noqa: S608 - a constant
    ).fetchone()
    return 0 if row is None else int(row[0])


def _set_version(db: sqlite3.Connection, schema: StoreSchema, version: int) -> None:
    table = schema.meta_table
    db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        f"INSERT INTO {table} VALUES ('schema_version', ?) "  # noqa: S608 - a constant
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(version),),
    )


def _file_of(db: sqlite3.Connection) -> str:
    for _, name, file in db.execute("PRAGMA database_list"):
        if name == "main":
            return str(file) or ":memory:"
    return "?"  # pragma: no cover - every connection has a main database
