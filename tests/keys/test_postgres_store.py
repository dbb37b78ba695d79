"""The PostgreSQL key store: replicas starting and writing together, lost connections, and errors
that never show the DSN."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import psycopg
import pytest

from laneway.keys.model import VirtualKey
from laneway.keys.postgres_store import PostgresKeyStore
from laneway.keys.store import KeyExists, KeyStoreError
from laneway.ledger.postgres import PostgresLedger
from laneway.schema.errors import SchemaTooNew
from tests.keys.conftest import make_key

T = TypeVar("T")


def together(count: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run `work(i)` on `count` threads released at the same moment; results or errors."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T | BaseException:
        barrier.wait()
        try:
            return work(index)
        except Exception as exc:  # noqa: BLE001 - collected for the test to inspect
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_replicas_starting_together_all_open_the_store(postgres_url: str) -> None:
    # Without the advisory lock, concurrent CREATE TABLE IF NOT EXISTS fails in some of them.
    opened = together(8, lambda _: PostgresKeyStore(postgres_url))
    stores = [s for s in opened if isinstance(s, PostgresKeyStore)]
    try:
        assert len(stores) == 8, [s for s in opened if not isinstance(s, PostgresKeyStore)]
        key, _ = make_key()
        stores[0].add(key)
        assert all(s.get(key.id) == key for s in stores)
    finally:
        for store in stores:
            store.close()


def add_one(stores: list[PostgresKeyStore], keys: list[VirtualKey], index: int) -> None:
    stores[index].add(keys[index])


def test_two_stores_creating_one_name_at_once_make_one_key(postgres_url: str) -> None:
    stores = [PostgresKeyStore(postgres_url), PostgresKeyStore(postgres_url)]
    try:
        for round_ in range(10):
            name = f"team-{round_}"
            keys = [make_key(name)[0], make_key(name)[0]]
            results = together(2, partial(add_one, stores, keys))
            assert sorted(type(r).__name__ for r in results) == ["KeyExists", "NoneType"]
            winner = keys[results.index(None)]
            assert stores[0].find(name) == winner
            assert stores[1].find(name) == winner
        assert len(stores[0].all()) == 10
    finally:
        for store in stores:
            store.close()


def test_a_lost_connection_is_replaced(postgres_url: str) -> None:
    store = PostgresKeyStore(postgres_url)
    try:
        key, _ = make_key()
        store.add(key)
        database = psycopg.conninfo.conninfo_to_dict(postgres_url)["dbname"]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'laneway-keys'",
                (database,),
            ).fetchall()
        assert ended == [(True,)]
        assert store.get(key.id) == key
        other, _ = make_key("team-b")
        store.add(other)
        assert store.by_prefix(other.prefix) == other
    finally:
        store.close()


def test_the_key_store_and_the_ledger_share_a_database(postgres_url: str) -> None:
    # One ledger (its own replicas' race is its own test's) and three key stores at once.
    opened = together(
        4, lambda i: PostgresKeyStore(postgres_url) if i else PostgresLedger(postgres_url)
    )
    assert all(isinstance(o, PostgresKeyStore | PostgresLedger) for o in opened), opened
    for item in opened:
        assert isinstance(item, PostgresKeyStore | PostgresLedger)
        item.close()
    # Reopened, the keys are still there.
    store = PostgresKeyStore(postgres_url)
    key, _ = make_key()
    store.add(key)
    store.close()
    store = PostgresKeyStore(postgres_url)
    assert store.all() == [key]
    store.close()


def test_an_unreachable_server_is_named_without_the_dsn() -> None:
    dsn = "postgresql://laneway:hunter2-secret@127.0.0.1:1/keys"
    with pytest.raises(KeyStoreError) as failure:
        PostgresKeyStore(dsn)
    message = str(failure.value)
    assert "cannot reach the PostgreSQL key store" in message
    assert "hunter2" not in message
    assert dsn not in message


def test_a_malformed_dsn_is_refused_without_echoing_it() -> None:
    with pytest.raises(KeyStoreError, match="malformed") as failure:
        PostgresKeyStore("host=db password=hunter2-secret oops")
    assert "hunter2" not in str(failure.value)


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresKeyStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("UPDATE keys_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(
        SchemaTooNew, match=r"version 99 at .* newer than this laneway's 2: upgrade"
    ):
        PostgresKeyStore(postgres_url)


def test_name_uniqueness_holds_in_the_database_itself(postgres_url: str) -> None:
    # The partial unique index, not only a check in Python, keeps two live keys from one name.
    store = PostgresKeyStore(postgres_url)
    key, _ = make_key()
    store.add(key)
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        with pytest.raises(psycopg.errors.UniqueViolation):
            admin.execute(
                "INSERT INTO virtual_keys (id, name, prefix, digest, created_at, updated_at, "
                "lanes, models) VALUES ('vk_x', %s, 'zzzzzzzzzz', '', 0, 0, '{}', '{}')",
                (key.name,),
            )
        admin.execute("UPDATE virtual_keys SET revoked_at = 1")
        admin.execute(
            "INSERT INTO virtual_keys (id, name, prefix, digest, created_at, updated_at, "
            "lanes, models) VALUES ('vk_x', %s, 'zzzzzzzzzz', '', 0, 0, '{}', '{}')",
            (key.name,),
        )
    store = PostgresKeyStore(postgres_url)
    try:
        with pytest.raises(KeyExists):
            store.add(make_key(key.name)[0])
    finally:
        store.close()
