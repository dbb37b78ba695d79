"""`laneway migrate`: a new SQLite file and a new PostgreSQL database brought to the latest
schemas, `--check` changing nothing, and the errors a user can act on (tests/schema has the
upgrade of the release's stores)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from laneway.keys import migrations as keys_migrations
from laneway.ledger import migrations as ledger_migrations
from tests.cli.conftest import Run, assert_one_line_error

LEDGER = ledger_migrations.SQLITE.latest
KEYS = keys_migrations.SQLITE.latest


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANEWAY_CONFIG", "LANEWAY_LEDGER", "LANEWAY_POSTGRES_DSN"):
        monkeypatch.delenv(name, raising=False)


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "laneway.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def heads(output: str) -> list[str]:
    """The store lines, without the step lines under them."""
    return [line for line in output.splitlines() if not line.startswith("  ")]


def test_a_new_sqlite_file_is_checked_then_made(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "data" / "ledger.db"
    given = config(tmp_path, '[ledger]\npath = "data/ledger.db"\n')
    checked = run("migrate", "--config", given, "--check")
    assert checked.code == 1
    assert heads(checked.out) == [
        f"ledger (sqlite, {path}): at version 0, {LEDGER} pending to version {LEDGER}",
        f"keys (sqlite, {path}): at version 0, {KEYS} pending to version {KEYS}",
    ]
    assert "  1: requests table" in checked.out.splitlines()
    assert (
        checked.err
        == f"warning: {LEDGER + KEYS} pending migration(s); laneway migrate applies them\n"
    )
    assert not path.parent.exists()  # checking made nothing
    made = run("migrate", "--config", given)
    assert made.code == 0, made.err
    assert heads(made.out) == [
        f"ledger (sqlite, {path}): migrated from version 0 to {LEDGER}",
        f"keys (sqlite, {path}): migrated from version 0 to {KEYS}",
    ]
    assert len(made.out.splitlines()) == 2 + LEDGER + KEYS  # a line per step
    again = run("migrate", "--config", given)
    assert again.code == 0
    assert heads(again.out) == [
        f"ledger (sqlite, {path}): at version {LEDGER}, up to date",
        f"keys (sqlite, {path}): at version {KEYS}, up to date",
    ]


def test_a_new_postgres_database_is_made(run: Run, tmp_path: Path, postgres_url: str) -> None:
    given = config(tmp_path, '[ledger]\nbackend = "postgres"\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANEWAY_POSTGRES_DSN", postgres_url)
        checked = run("migrate", "--config", given, "--check")
        made = run("migrate", "--config", given)
        again = run("migrate", "--config", given, "--check")
    database = postgres_url.rsplit("/", 1)[1]
    where = f"PostgreSQL database {database!r} on 127.0.0.1:5432"
    assert checked.code == 1
    assert (
        heads(checked.out)[0]
        == f"ledger (postgres, {where}): at version 0, {LEDGER} pending to version {LEDGER}"
    )
    assert made.code == 0, made.err
    assert heads(made.out) == [
        f"ledger (postgres, {where}): migrated from version 0 to {LEDGER}",
        f"keys (postgres, {where}): migrated from version 0 to {KEYS}",
    ]
    assert again.code == 0
    assert heads(again.out)[1] == f"keys (postgres, {where}): at version {KEYS}, up to date"


def test_a_newer_schema_is_one_line_naming_both_versions(run: Run, tmp_path: Path) -> None:
    given = config(tmp_path, '[ledger]\npath = "ledger.db"\n')
    assert run("migrate", "--config", given).code == 0
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute("UPDATE ledger_meta SET value = '9' WHERE key = 'schema_version'")
    db.close()
    path = tmp_path / "ledger.db"
    for args in ((), ("--check",)):
        assert_one_line_error(
            run("migrate", "--config", given, *args),
            f"ledger schema version 9 at {path} is newer than this laneway's {LEDGER}",
            "upgrade laneway",
        )


def test_an_unreachable_database_is_one_line_without_its_password(run: Run, tmp_path: Path) -> None:
    given = config(tmp_path, '[ledger]\nbackend = "postgres"\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANEWAY_POSTGRES_DSN", "postgresql://laneway:hunter2-pw@127.0.0.1:1/x")
        result = run("migrate", "--config", given)
    assert_one_line_error(result, "cannot open the PostgreSQL ledger", "Connection refused")
    assert "hunter2" not in result.err


def test_a_file_that_is_not_a_database_is_one_line(run: Run, tmp_path: Path) -> None:
    (tmp_path / "ledger.db").write_bytes(b"not a database" * 200)
    given = config(tmp_path, '[ledger]\npath = "ledger.db"\n')
    assert_one_line_error(run("migrate", "--config", given), "ledger.db: file is not a database")
