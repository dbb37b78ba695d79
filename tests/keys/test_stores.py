"""Both key stores, SQLite and PostgreSQL, behave alike: every test here runs on each."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from laneway.keys.secret import new_secret
from laneway.keys.store import KeyExists, KeyNotFound, KeyRevoked, KeyStore, PrefixInUse
from laneway.quota.budget import BudgetLimit
from tests.keys.conftest import NOW, make_key


def test_a_key_reads_back_exactly_as_stored(store: KeyStore) -> None:
    key, _ = make_key(
        expires_at=NOW + 30 * 86_400 + 0.125,
        rpm=600,
        tpm=2_000_000_000_000,
        budgets=(
            BudgetLimit("day", Decimal("0.000000001")),
            BudgetLimit("month", Decimal("12345678901234567890.123456789")),
            BudgetLimit("lifetime", Decimal("50.10")),
        ),
        lanes=("coding", "extraction"),
        models=("gpt-5.4-mini", "meta-llama/Llama-3.3-70B:free"),
        created_at=NOW + 0.123456789,
    )
    store.add(key)
    for found in (store.get(key.id), store.by_prefix(key.prefix), store.find(key.name)):
        assert found == key
        assert found is not None
        # Equal as Decimals is not enough: the very digits written come back.
        assert [str(b.usd) for b in found.budgets] == [
            "1E-9",
            "12345678901234567890.123456789",
            "50.10",
        ]
    bare, _ = make_key("bare", created_at=NOW + 1)
    store.add(bare)
    assert store.get(bare.id) == bare
    assert store.all() == [key, bare]


def test_find_takes_an_id_a_prefix_with_or_without_lw_or_a_name(store: KeyStore) -> None:
    key, _ = make_key("team-a")
    store.add(key)
    assert store.find(key.id) == key
    assert store.find(key.prefix) == key
    assert store.find("lw-" + key.prefix) == key
    assert store.find("team-a") == key
    assert store.find("team-b") is None
    assert store.find(new_secret().prefix) is None
    assert store.get("vk_missing") is None
    assert store.by_prefix(new_secret().prefix) is None


def test_a_name_is_unique_among_keys_not_revoked(store: KeyStore) -> None:
    first, _ = make_key("team-a")
    store.add(first)
    second, _ = make_key("team-a", created_at=NOW + 1, updated_at=NOW + 1)
    with pytest.raises(KeyExists, match="'team-a' already exists"):
        store.add(second)
    assert store.all() == [first]
    revoked = store.revoke(first.id, NOW + 2)
    store.add(second)
    # A name finds the live key, whichever is newer.
    assert store.find("team-a") == second
    third, _ = make_key("team-a", created_at=NOW + 3, updated_at=NOW + 3)
    with pytest.raises(KeyExists):
        store.add(third)
    store.revoke(second.id, NOW + 4)
    store.add(third)
    store.revoke(third.id, NOW + 5)
    # All revoked: the newest.
    assert store.find("team-a") == replace(third, revoked_at=NOW + 5, updated_at=NOW + 5)
    assert store.find(first.id) == revoked


def test_a_prefix_is_unique(store: KeyStore) -> None:
    key, _ = make_key("team-a")
    store.add(key)
    clash, _ = make_key("team-b", prefix=key.prefix)
    with pytest.raises(PrefixInUse):
        store.add(clash)
    assert store.all() == [key]


def test_revoke_marks_once_and_keeps_the_first_time(store: KeyStore) -> None:
    key, _ = make_key()
    store.add(key)
    revoked = store.revoke(key.id, NOW + 10)
    assert revoked == replace(key, revoked_at=NOW + 10, updated_at=NOW + 10)
    assert revoked.status(NOW + 10) == "revoked"
    assert store.revoke(key.id, NOW + 20) == revoked
    assert store.get(key.id) == revoked
    # Still found by its prefix: the caller sees it is revoked (and says so).
    assert store.by_prefix(key.prefix) == revoked
    with pytest.raises(KeyNotFound):
        store.revoke("vk_missing", NOW)


def test_replacing_the_secret_keeps_the_key_and_retires_the_old_prefix(store: KeyStore) -> None:
    key, _ = make_key(rpm=60, lanes=("coding",), budgets=(BudgetLimit("day", Decimal(5)),))
    store.add(key)
    fresh = new_secret()
    rotated = store.replace_secret(key.id, fresh.prefix, fresh.digest, NOW + 30)
    assert rotated == replace(key, prefix=fresh.prefix, digest=fresh.digest, updated_at=NOW + 30)
    assert store.by_prefix(key.prefix) is None
    assert store.find(key.prefix) is None
    assert store.by_prefix(fresh.prefix) == rotated
    assert store.get(key.id) == rotated
    with pytest.raises(KeyNotFound):
        store.replace_secret("vk_missing", new_secret().prefix, "0" * 64, NOW)


def test_a_revoked_key_cannot_be_given_a_new_secret(store: KeyStore) -> None:
    key, _ = make_key()
    store.add(key)
    store.revoke(key.id, NOW + 1)
    fresh = new_secret()
    with pytest.raises(KeyRevoked, match="create a new key"):
        store.replace_secret(key.id, fresh.prefix, fresh.digest, NOW + 2)
    assert store.get(key.id).prefix == key.prefix  # type: ignore[union-attr]


def test_a_new_secret_cannot_take_another_keys_prefix(store: KeyStore) -> None:
    key, _ = make_key("team-a")
    other, _ = make_key("team-b")
    store.add(key)
    store.add(other)
    with pytest.raises(PrefixInUse):
        store.replace_secret(key.id, other.prefix, "0" * 64, NOW + 1)
    assert store.get(key.id) == key


def test_changed_since_lists_what_a_replica_missed(store: KeyStore) -> None:
    a, _ = make_key("a", created_at=NOW, updated_at=NOW)
    b, _ = make_key("b", created_at=NOW + 10, updated_at=NOW + 10)
    c, _ = make_key("c", created_at=NOW + 20, updated_at=NOW + 20)
    for key in (a, b, c):
        store.add(key)
    assert store.changed_since(NOW + 10) == [b, c]
    revoked = store.revoke(a.id, NOW + 30)
    fresh = new_secret()
    rotated = store.replace_secret(b.id, fresh.prefix, fresh.digest, NOW + 40)
    assert store.changed_since(NOW + 25) == [revoked, rotated]
    assert store.changed_since(NOW + 41) == []
    assert store.changed_since(0) == [c, revoked, rotated]
