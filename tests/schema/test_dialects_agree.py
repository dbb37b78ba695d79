"""Each store's SQLite and PostgreSQL step lists reach the same version with the same tables,
columns (in order, with the same NOT NULLs), primary keys and indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from laneway.keys import migrations as keys_migrations
from laneway.ledger import migrations as ledger_migrations
from laneway.schema.postgres import migrate_postgres
from laneway.schema.sqlite import migrate_sqlite
from laneway.schema.steps import StoreSchema
from tests.schema.introspect import postgres_tables, sqlite_tables

PAIRS = {
    "ledger": (ledger_migrations.SQLITE, ledger_migrations.POSTGRES),
    "keys": (keys_migrations.SQLITE, keys_migrations.POSTGRES),
}


@pytest.mark.parametrize(("lite", "pg"), PAIRS.values(), ids=PAIRS.keys())
def test_both_lists_have_the_same_steps(lite: StoreSchema, pg: StoreSchema) -> None:
    assert (lite.store, lite.dialect, pg.store, pg.dialect) == (
        lite.store,
        "sqlite",
        lite.store,
        "postgres",
    )
    assert lite.latest == pg.latest
    assert [(s.version, s.summary) for s in lite.steps] == [
        (s.version, s.summary) for s in pg.steps
    ]


@pytest.mark.parametrize(("lite", "pg"), PAIRS.values(), ids=PAIRS.keys())
def test_both_lists_make_the_same_tables(
    lite: StoreSchema, pg: StoreSchema, tmp_path: Path, postgres_url: str
) -> None:
    db = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    try:
        assert migrate_sqlite(db, lite).to_version == lite.latest
        made_in_sqlite = sqlite_tables(db)
    finally:
        db.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert migrate_postgres(conn, pg).to_version == pg.latest
        made_in_postgres = postgres_tables(conn)
    assert made_in_sqlite == made_in_postgres
    assert f"{lite.store}_meta" in made_in_sqlite
    # The store's tables (the ledger's requests and unauthenticated refusals; keys) and version.
    assert len(made_in_sqlite) == {"ledger": 4, "keys": 2}[lite.store]


def test_the_stores_own_tables_do_not_overlap() -> None:
    # They share a database (one SQLite file, one PostgreSQL database): no step of one may
    # touch the other's tables.
    ledger = " ".join(" ".join(s.statements) for s in ledger_migrations.SQLITE.steps)
    keys = " ".join(" ".join(s.statements) for s in keys_migrations.SQLITE.steps)
    assert "virtual_keys" not in ledger
    assert "requests" not in keys
