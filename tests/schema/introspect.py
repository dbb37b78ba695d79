"""What a database holds, read the same way from SQLite and PostgreSQL: per table, its columns in
order (name, NOT NULL) and its indexes, so that the two backends' schemas can be compared."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Table:
    columns: tuple[tuple[str, bool], ...]  # (name, NOT NULL), in order
    primary_key: tuple[str, ...]
    indexes: frozenset[str]  # by name, leaving out those behind a primary key or UNIQUE column


def sqlite_tables(db: sqlite3.Connection) -> dict[str, Table]:
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    tables = {}
    for name in names:
        info = db.execute(f"PRAGMA table_info({name})").fetchall()
        indexes = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND name NOT LIKE 'sqlite_autoindex_%'",
            (name,),
        ).fetchall()
        tables[name] = Table(
            columns=tuple((row[1], bool(row[3] or row[5])) for row in info),
            primary_key=tuple(row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]),
            indexes=frozenset(row[0] for row in indexes),
        )
    return tables


def postgres_tables(conn: psycopg.Connection[Any]) -> dict[str, Table]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    ]
    tables = {}
    for name in names:
        columns = conn.execute(
            "SELECT column_name, is_nullable = 'NO' FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
            (name,),
        ).fetchall()
        key = conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary",
            (name,),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (name,),
        ).fetchall()
        tables[name] = Table(
            columns=tuple((str(n), bool(required)) for n, required in columns),
            primary_key=tuple(str(row[0]) for row in key),
            indexes=frozenset(str(row[0]) for row in indexes),
        )
    return tables
