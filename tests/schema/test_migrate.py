"""The migration mechanism on both dialects, with a store of the tests' own: steps applied in
order from any version, each with its version bump in one transaction, once among concurrent
openers; a newer schema refused; check-only opening changing nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from laneway.keys import migrations as keys_migrations
from laneway.ledger import migrations as ledger_migrations
from laneway.schema.errors import SchemaPending, SchemaTooNew
from laneway.schema.postgres import lock_key, migrate_postgres
from laneway.schema.report import MigrationReport
from laneway.schema.sqlite import migrate_sqlite, refuse_missing_file
from laneway.schema.steps import Dialect, Step, StoreSchema
from laneway.schema.wal import enable_wal
from tests.together import together

# Each step logs itself: a step applied twice would show twice.
STEPS = (
    Step(1, "log", ("CREATE TABLE toy_log (n INTEGER NOT NULL)", "INSERT INTO toy_log VALUES (1)")),
    Step(2, "second", ("INSERT INTO toy_log VALUES (2)",)),
    Step(
        3,
        "third",
        ("ALTER TABLE toy_log ADD COLUMN note TEXT", "INSERT INTO toy_log VALUES (3, 'x')"),
    ),
)


def toy(dialect: Dialect, steps: tuple[Step, ...] = STEPS) -> StoreSchema:
    return StoreSchema("toy", dialect, steps)


@dataclass
class Backend:
    """One dialect: a new connection to the test's database, and its migrate function."""

    dialect: Dialect
    connect: Callable[[], Any]
    migrate: Callable[..., MigrationReport]  # (connection, schema, *, check_only)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
        finally:
            conn.close()

    def version(self) -> str:
        return str(self.rows("SELECT value FROM toy_meta WHERE key = 'schema_version'")[0][0])


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "toy.db"

        def connect_sqlite() -> sqlite3.Connection:
            db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            enable_wal(db, 30)
            return db

        yield Backend("sqlite", connect_sqlite, migrate_sqlite)
    else:
        url = request.getfixturevalue("postgres_url")
        yield Backend("postgres", lambda: psycopg.connect(url, autocommit=True), migrate_postgres)


def migrate(backend: Backend, schema: StoreSchema, *, check_only: bool = False) -> MigrationReport:
    conn = backend.connect()
    try:
        return backend.migrate(conn, schema, check_only=check_only)
    finally:
        conn.close()


def test_a_new_database_takes_every_step_and_then_none(backend: Backend) -> None:
    report = migrate(backend, toy(backend.dialect))
    assert (report.store, report.dialect) == ("toy", backend.dialect)
    assert (report.from_version, report.to_version, report.applied) == (0, 3, STEPS)
    assert report.pending == ()
    assert report.changed
    assert sorted(backend.rows("SELECT n FROM toy_log")) == [(1,), (2,), (3,)]
    again = migrate(backend, toy(backend.dialect))
    assert (again.from_version, again.to_version, again.applied) == (3, 3, ())
    assert not again.changed
    assert backend.version() == "3"


def test_an_old_database_takes_only_the_steps_after_its_version(backend: Backend) -> None:
    migrate(backend, toy(backend.dialect, STEPS[:1]))
    assert backend.version() == "1"
    report = migrate(backend, toy(backend.dialect))
    assert (report.from_version, report.to_version, report.applied) == (1, 3, STEPS[1:])
    assert sorted(backend.rows("SELECT n FROM toy_log")) == [(1,), (2,), (3,)]


def test_a_failing_step_is_undone_whole_with_its_version(backend: Backend) -> None:
    broken = Step(2, "second", ("INSERT INTO toy_log VALUES (2)", "INSERT INTO nowhere VALUES (1)"))
    with pytest.raises((sqlite3.Error, psycopg.Error)):
        migrate(backend, toy(backend.dialect, (STEPS[0], broken, STEPS[2])))
    assert backend.version() == "1"  # step 1 stays: it was a transaction of its own
    assert backend.rows("SELECT n FROM toy_log") == [(1,)]  # step 2's first insert is undone
    assert migrate(backend, toy(backend.dialect)).applied == STEPS[1:]


def test_a_newer_database_is_refused_naming_both_versions(backend: Backend) -> None:
    migrate(backend, toy(backend.dialect))
    with pytest.raises(
        SchemaTooNew,
        match=r"^toy schema version 3 at .+ is newer than this laneway's 2: upgrade laneway$",
    ) as refused:
        migrate(backend, toy(backend.dialect, STEPS[:2]))
    assert (refused.value.found, refused.value.known) == (3, 2)
    assert backend.version() == "3"


def test_concurrent_openers_apply_each_step_once(backend: Backend) -> None:
    count = 6
    reports: list[MigrationReport] = []

    def open_one() -> None:
        conn = backend.connect()
        try:
            reports.append(backend.migrate(conn, toy(backend.dialect)))
        finally:
            conn.close()

    errors = together(count, open_one)
    assert errors == []
    assert len(reports) == count
    # Every step applied by exactly one opener, and every opener ends at the latest.
    assert sorted(step.version for r in reports for step in r.applied) == [1, 2, 3]
    assert {r.to_version for r in reports} == {3}
    assert sorted(backend.rows("SELECT n FROM toy_log")) == [(1,), (2,), (3,)]


def test_checking_applies_nothing_and_reports_what_is_pending(backend: Backend) -> None:
    migrate(backend, toy(backend.dialect, STEPS[:1]))
    with pytest.raises(
        SchemaPending,
        match=r"toy schema at .+ is at version 1, 2 migrations to version 3 pending",
    ) as pending:
        migrate(backend, toy(backend.dialect), check_only=True)
    report = pending.value.report
    assert (report.from_version, report.to_version, report.pending, report.applied) == (
        1,
        3,
        STEPS[1:],
        (),
    )
    assert not report.changed
    assert backend.version() == "1"
    assert backend.rows("SELECT n FROM toy_log") == [(1,)]
    # Nothing pending: the store opens.
    assert migrate(backend, toy(backend.dialect, STEPS[:1]), check_only=True).pending == ()


def test_checking_a_missing_sqlite_file_does_not_make_it(tmp_path: Path) -> None:
    path = tmp_path / "none" / "ledger.db"
    refuse_missing_file(path, toy("sqlite"), check_only=False)  # not checking: it will be made
    with pytest.raises(SchemaPending) as pending:
        refuse_missing_file(path, toy("sqlite"), check_only=True)
    assert pending.value.report.pending == STEPS
    assert pending.value.report.where == str(path)
    assert not path.parent.exists()


def test_steps_are_numbered_from_one_without_gaps() -> None:
    with pytest.raises(ValueError, match=r"toy \(sqlite\): steps numbered \[1, 3\], not 1..n"):
        toy("sqlite", (STEPS[0], STEPS[2]))
    assert toy("sqlite").after(1) == STEPS[1:]
    assert toy("sqlite").after(3) == ()
    assert toy("sqlite", ()).latest == 0


def test_the_lock_keys_are_the_ones_the_release_used() -> None:
    # A replica of the release and one of this code, starting together, serialise on them.
    assert lock_key(ledger_migrations.POSTGRES) == 0x6C776C6564676572
    assert lock_key(keys_migrations.POSTGRES) == 0x6C776B657973
