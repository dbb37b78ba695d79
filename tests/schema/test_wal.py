"""Several openers of a new SQLite file switch it to WAL mode together without "database is
locked" (SQLite answers the losers at once, ignoring the busy timeout): as the workers of
`laneway serve --workers N` open one new ledger (the ledger and key store use enable_wal).
With the bare pragma, about one round in eight of six openers failed here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from laneway.schema.wal import enable_wal
from tests.together import together


def test_openers_of_a_new_file_all_switch_it_to_wal(tmp_path: Path) -> None:
    # Without the retry, about one round in eight failed here: forty rounds all but never pass.
    for round_ in range(40):
        path = tmp_path / f"r{round_}.db"

        def open_one(path: Path = path) -> None:
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            try:
                enable_wal(db, 30)
            finally:
                db.close()

        assert together(6, open_one) == []
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
