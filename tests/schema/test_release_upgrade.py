"""A ledger and a key store written by the release of commit c333d48 (ledger schema 2, keys 1;
tests/fixtures/make_release_stores.py wrote them), upgraded by this code on both backends: on
opening, and by `laneway migrate`. Every old record and key reads back unchanged, the new columns
are NULL, and the upgraded tables are those a new database gets."""

from __future__ import annotations

import shutil
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from laneway.assembly import Assembly
from laneway.config import GatewayConfig
from laneway.keys import migrations as keys_migrations
from laneway.keys.secret import find_by_secret
from laneway.ledger import migrations as ledger_migrations
from laneway.schema.sqlite import migrate_sqlite
from tests.cli.conftest import Run
from tests.fixtures.make_release_stores import (
    POSTGRES_DUMP,
    SQLITE_FILE,
    release_keys,
    release_records,
)
from tests.schema.introspect import Table, postgres_tables, sqlite_tables

NO_ENV: dict[str, str] = {}
DATA = ("requests", "virtual_keys")  # the stores' tables; their versions are checked apart
ANNOTATIONS = ledger_migrations.SQLITE.steps[2]
REFUSALS = ledger_migrations.SQLITE.steps[3]
RESPONSES = ledger_migrations.SQLITE.steps[4]
RUNS = ledger_migrations.SQLITE.steps[5]
CAPTURES = ledger_migrations.SQLITE.steps[6]
TRACES = ledger_migrations.SQLITE.steps[7]
PASSTHROUGH = keys_migrations.SQLITE.steps[1]


@dataclass
class Release:
    """A database holding the release's fixture, a config naming it, and raw access to it."""

    backend: str
    config_path: Path
    url: str  # the SQLite file, or the PostgreSQL DSN

    @property
    def config(self) -> GatewayConfig:
        return GatewayConfig.load(self.config_path)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.backend == "sqlite":
            with closing(sqlite3.connect(self.url)) as db:
                return [tuple(row) for row in db.execute(sql).fetchall()]
        with psycopg.connect(self.url, autocommit=True) as conn:
            return [tuple(row) for row in conn.execute(sql).fetchall()]

    def tables(self) -> dict[str, Table]:
        if self.backend == "sqlite":
            with closing(sqlite3.connect(self.url)) as db:
                return sqlite_tables(db)
        with psycopg.connect(self.url, autocommit=True) as conn:
            return postgres_tables(conn)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the stores' tables as stored, in id order."""
        return {name: self.rows(f"SELECT * FROM {name} ORDER BY id") for name in DATA}  # noqa: S608

    def versions(self) -> list[tuple[Any, ...]]:
        return self.rows("SELECT value FROM ledger_meta UNION ALL SELECT value FROM keys_meta")


@pytest.fixture(params=["sqlite", "postgres"])
def release(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Release]:
    config = tmp_path / "laneway.toml"
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copyfile(SQLITE_FILE, path)  # never the fixture itself
        config.write_text('[ledger]\npath = "ledger.db"\n', encoding="utf-8")
        yield Release("sqlite", config, str(path))
        return
    url = request.getfixturevalue("postgres_url")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(POSTGRES_DUMP.read_text(encoding="utf-8"))
    config.write_text(f'[ledger]\nbackend = "postgres"\ndsn = "{url}"\n', encoding="utf-8")
    yield Release("postgres", config, url)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANEWAY_CONFIG", "LANEWAY_LEDGER", "LANEWAY_POSTGRES_DSN"):
        monkeypatch.delenv(name, raising=False)


def test_the_fixtures_are_at_the_release_versions(release: Release) -> None:
    assert release.versions() == [("2",), ("1",)]
    assert "annotations" not in dict(release.tables()["requests"].columns)


def test_opening_upgrades_the_release_stores(release: Release) -> None:
    before = release.snapshot()
    ledger = Assembly(release.config, NO_ENV).open_ledger()
    keys = Assembly(release.config, NO_ENV).open_key_store()
    try:
        assert (ledger.migration.from_version, ledger.migration.to_version) == (2, 8)
        assert [step.version for step in ledger.migration.applied] == [3, 4, 5, 6, 7, 8]
        assert (keys.migration.from_version, keys.migration.to_version) == (1, 2)
        assert [step.version for step in keys.migration.applied] == [2]
    finally:
        keys.close()
        ledger.close()
    check_upgraded(release, before)


def test_laneway_migrate_upgrades_the_release_stores(release: Release, run: Run) -> None:
    before = release.snapshot()
    config = str(release.config_path)
    checked = run("migrate", "--config", config, "--check")
    assert checked.code == 1, checked.err
    lines = checked.out.splitlines()
    assert lines[0].startswith(f"ledger ({release.backend}, ")
    assert lines[0].endswith("): at version 2, 6 pending to version 8")
    assert lines[1] == f"  3: {ANNOTATIONS.summary}"
    assert lines[2] == f"  4: {REFUSALS.summary}"
    assert lines[3] == f"  5: {RESPONSES.summary}"
    assert lines[4] == f"  6: {RUNS.summary}"
    assert lines[5] == f"  7: {CAPTURES.summary}"
    assert lines[6] == f"  8: {TRACES.summary}"
    assert lines[7].startswith(f"keys ({release.backend}, ")
    assert lines[7].endswith("): at version 1, 1 pending to version 2")
    assert lines[8] == f"  2: {PASSTHROUGH.summary}"
    assert len(lines) == 9
    assert "7 pending migration(s); laneway migrate applies them" in checked.err
    assert release.snapshot() == before  # checking changed nothing
    applied = run("migrate", "--config", config)
    assert applied.code == 0, applied.err
    assert applied.out.splitlines()[0].endswith("): migrated from version 2 to 8")
    assert applied.out.splitlines()[1] == f"  3: {ANNOTATIONS.summary}"
    assert applied.out.splitlines()[2] == f"  4: {REFUSALS.summary}"
    assert applied.out.splitlines()[3] == f"  5: {RESPONSES.summary}"
    assert applied.out.splitlines()[4] == f"  6: {RUNS.summary}"
    assert applied.out.splitlines()[5] == f"  7: {CAPTURES.summary}"
    assert applied.out.splitlines()[6] == f"  8: {TRACES.summary}"
    assert applied.err == ""
    again = run("migrate", "--config", config, "--check")
    assert again.code == 0, again.err
    assert again.out.splitlines()[0].endswith("): at version 8, up to date")
    check_upgraded(release, before)


def check_upgraded(release: Release, before: dict[str, list[tuple[Any, ...]]]) -> None:
    assert release.versions() == [("8",), ("2",)]
    assert release.tables() == fresh_tables()
    # As stored: every old row, column by column, with the new columns after them, NULL.
    after = release.snapshot()
    for name, rows in before.items():
        assert rows, name
        width = len(rows[0])
        assert [row[:width] for row in after[name]] == rows, name
        if name == "requests":
            assert {row[width:] for row in after[name]} == {(None,) * 8}
        else:  # virtual_keys: passthrough, off (0 in SQLite, false in PostgreSQL)
            assert [row[width:] for row in after[name]] == [(False,)] * len(rows)
    # As read: every record and key the release wrote, unchanged.
    check_records(release)
    check_keys(release)


def check_records(release: Release) -> None:
    written = {record.id: record for record in release_records()}
    ledger = Assembly(release.config, NO_ENV).open_ledger()
    try:
        assert ledger.migration.applied == ()
        stored = {record.id: record for record in ledger.between(None, None)}
        assert stored == written
        assert all(record.annotations is None for record in stored.values())
        assert {r.id for r in ledger.unsettled()} == {"lw_rel_reserved_1", "lw_rel_reserved_2"}
        spend: defaultdict[str, Decimal] = defaultdict(Decimal)
        for record in written.values():
            if record.key_id and record.cost_usd is not None and not record.shadow:
                spend[record.key_id] += record.cost_usd
        assert ledger.key_spend(None) == spend
        # A new record, annotated, beside them.
        noted = replace(
            written["lw_rel_ok"], id="lw_new", annotations={"trace_id": "0af7651916cd43dd"}
        )
        ledger.settle([noted])
        assert ledger.get("lw_new") == noted
    finally:
        ledger.close()


def check_keys(release: Release) -> None:
    store = Assembly(release.config, NO_ENV).open_key_store()
    try:
        stored = {key.id: key for key in store.all()}
        assert stored == {key.id: key for key, _ in release_keys()}
        for key, secret in release_keys():
            assert find_by_secret(secret, store.by_prefix) == key
    finally:
        store.close()


def fresh_tables() -> dict[str, Table]:
    """The tables a new database gets from both stores' steps (the same in either dialect:
    tests/schema/test_dialects_agree.py)."""
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
        migrate_sqlite(db, ledger_migrations.SQLITE)
        migrate_sqlite(db, keys_migrations.SQLITE)
        return sqlite_tables(db)
