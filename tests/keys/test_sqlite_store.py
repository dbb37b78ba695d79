"""The SQLite key store: in the ledger's file beside the ledger, and with other connections."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from laneway.keys.model import VirtualKey
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.keys.store import KeyExists, KeyStoreError
from laneway.ledger.record import LedgerRecord
from laneway.ledger.sqlite import SQLiteLedger
from laneway.schema.errors import SchemaTooNew
from tests.keys.conftest import NOW, make_key


def test_keys_live_in_the_ledgers_file_beside_its_records(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    store = SQLiteKeyStore(path)
    try:
        key, _ = make_key()
        store.add(key)
        record = LedgerRecord(
            id="lw_1", created_at=NOW, key_id=key.id, endpoint="chat", requested_model="gpt-5.2",
            stream=False, status="ok", cost_usd=Decimal("0.25"),
        )  # fmt: skip
        ledger.settle([record])
        assert ledger.get("lw_1") == record
        assert ledger.key_spend(None) == {key.id: Decimal("0.25")}
        assert store.get(key.id) == key
    finally:
        store.close()
        ledger.close()
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"requests", "ledger_meta", "virtual_keys", "keys_meta"} <= tables
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    reopened = SQLiteKeyStore(path)
    assert reopened.all() == [key]
    reopened.close()


def test_two_connections_adding_one_name_at_once_make_one_key(tmp_path: Path) -> None:
    # As two processes would: each store has its own connection to the file.
    path = tmp_path / "ledger.db"
    stores = [SQLiteKeyStore(path), SQLiteKeyStore(path)]
    try:
        for round_ in range(10):
            keys = [make_key(f"team-{round_}")[0] for _ in stores]
            with ThreadPoolExecutor(2) as pool:
                outcomes = sorted(
                    pool.map(partial(add_at_once, threading.Barrier(2), stores, keys), range(2))
                )
            assert outcomes == ["added", "exists"]
        assert len(stores[0].all()) == 10
    finally:
        for store in stores:
            store.close()


def add_at_once(
    barrier: threading.Barrier, stores: list[SQLiteKeyStore], keys: list[VirtualKey], index: int
) -> str:
    barrier.wait()
    try:
        stores[index].add(keys[index])
    except KeyExists:
        return "exists"
    return "added"


def test_a_busy_file_is_waited_for_then_reported(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    hasty = SQLiteKeyStore(path, busy_timeout_s=0.1)
    patient = SQLiteKeyStore(path, busy_timeout_s=5)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer (the ledger's) holds the file
        with pytest.raises(KeyStoreError, match=r"ledger\.db: database is locked"):
            hasty.add(make_key()[0])
        # A writer that finishes within the timeout is waited for.
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        key, _ = make_key()
        patient.add(key)
        release.join()
        assert hasty.get(key.id) == key
    finally:
        other.close()
        hasty.close()
        patient.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteKeyStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE keys_meta SET value = '7' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(SchemaTooNew, match=r"version 7 at .* newer than this laneway's 2: upgrade"):
        SQLiteKeyStore(path)


def test_a_file_that_cannot_be_opened_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(KeyStoreError, match="cannot open the key store"):
        SQLiteKeyStore(blocker / "ledger.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(KeyStoreError, match=r"garbage\.db: file is not a database"):
        SQLiteKeyStore(garbage)
