"""KeyService over real stores and real Redis: create, look up, revoke, rotate, validate."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from laneway.clock import ManualClock
from laneway.keys.revocations import LocalRevocations, RedisRevocations, RevocationError
from laneway.keys.service import KeyService
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.keys.store import (
    KeyExists,
    KeyFieldError,
    KeyNameRetired,
    KeyNotFound,
    KeyRevoked,
    KeyStore,
)
from laneway.quota.budget import BudgetLimit, parse_budget
from tests.keys.conftest import NOW
from tests.services import REDIS_URL

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def revocations(redis_namespace: str) -> Iterator[RedisRevocations]:
    opened = RedisRevocations(REDIS_URL, redis_namespace)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def service(store: KeyStore, revocations: RedisRevocations, clock: ManualClock) -> KeyService:
    return KeyService(store, revocations, clock)


def revoked(redis_client: redis.Redis, namespace: str) -> set[str]:
    return redis_client.smembers(f"{namespace}:revoked")  # type: ignore[return-value]


def test_create_returns_the_secret_once_and_lookup_finds_the_key(
    service: KeyService, clock: ManualClock
) -> None:
    key, secret = service.create(
        "team-a",
        budgets=[parse_budget("1000/month"), parse_budget("50/day")],
        rpm=600,
        tpm=2_000_000,
        lanes=["coding", "extraction", "coding"],
        models=["gpt-5.4-mini"],
        expires_in_s=30 * 86_400,
    )
    assert key.id.startswith("vk_")
    assert secret.startswith(f"lw-{key.prefix}-")
    assert secret not in repr(key)
    assert (key.created_at, key.updated_at, key.expires_at) == (NOW, NOW, NOW + 30 * 86_400)
    # Budgets in window order whatever the input's; repeated lanes once.
    assert key.budgets == (BudgetLimit("day", Decimal(50)), BudgetLimit("month", Decimal(1000)))
    assert key.lanes == ("coding", "extraction")
    assert key.default_lane == "coding"
    assert service.lookup(secret) == key
    assert service.lookup(secret[:-2]) is None
    assert service.lookup("") is None
    assert service.list() == [key]
    clock.advance(30 * 86_400)
    assert service.lookup(secret).status(clock.time()) == "expired"  # type: ignore[union-attr]


def test_only_the_digest_is_stored(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "ledger.db"
    store = SQLiteKeyStore(path)
    key, secret = KeyService(store, LocalRevocations(), clock).create("team-a")
    store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert key.digest.encode() in stored
    assert secret.encode() not in stored
    assert secret.rsplit("-", 1)[1].encode() not in stored


def test_revoke_announces_the_prefix_to_every_replica(
    service: KeyService, redis_client: redis.Redis, redis_namespace: str, clock: ManualClock
) -> None:
    key, secret = service.create("team-a")
    other, _ = service.create("team-b")
    clock.advance(5)
    gone, already = service.revoke("team-a")
    assert not already
    assert gone.revoked_at == NOW + 5
    assert gone.status(clock.time()) == "revoked"
    assert revoked(redis_client, redis_namespace) == {key.prefix}
    # The store still knows the key, as revoked; its name is not reused.
    found = service.lookup(secret)
    assert found is not None
    assert found.status(clock.time()) == "revoked"
    with pytest.raises(KeyNameRetired, match=rf"revoked key {key.prefix} was named 'team-a'"):
        service.create("team-a")
    assert len(service.list()) == 2
    # Revoking it again: the same key, unchanged, and said to be revoked already.
    clock.advance(5)
    assert service.revoke(key.id) == (gone, True)
    service.revoke(other.prefix)
    assert revoked(redis_client, redis_namespace) == {key.prefix, other.prefix}
    with pytest.raises(KeyNotFound, match="'team-c'"):
        service.revoke("team-c")


def test_rotate_keeps_the_key_and_kills_the_old_secret_at_once(
    service: KeyService, redis_client: redis.Redis, redis_namespace: str, clock: ManualClock
) -> None:
    key, old_secret = service.create("team-a", rpm=60, lanes=["coding"])
    clock.advance(60)
    rotated, new_secret = service.rotate(key.id)
    assert rotated.id == key.id
    assert (rotated.name, rotated.rpm, rotated.lanes) == ("team-a", 60, ("coding",))
    assert rotated.prefix != key.prefix
    assert rotated.updated_at == NOW + 60
    assert new_secret != old_secret
    assert service.lookup(new_secret) == rotated
    assert service.lookup(old_secret) is None
    # Replicas that cached the old prefix refuse it from the next request on.
    assert revoked(redis_client, redis_namespace) == {key.prefix}
    service.revoke("team-a")
    with pytest.raises(KeyRevoked):
        service.rotate("team-a")


def test_a_failed_announcement_is_reported_and_can_be_retried(
    store: KeyStore,
    revocations: RedisRevocations,
    redis_client: redis.Redis,
    redis_namespace: str,
    clock: ManualClock,
) -> None:
    cut_off = RedisRevocations(UNREACHABLE_REDIS, redis_namespace, timeout_s=0.5)
    warnings: list[str] = []
    isolated = KeyService(store, cut_off, clock, warn=warnings.append)
    key, _ = isolated.create("team-a")
    with pytest.raises(RevocationError, match=r"is revoked in the key store.*revoke it again"):
        isolated.revoke("team-a")
    assert store.get(key.id).revoked_at == NOW  # type: ignore[union-attr]
    # Revoking again once Redis is back announces it.
    KeyService(store, revocations, clock).revoke(key.id)
    assert revoked(redis_client, redis_namespace) == {key.prefix}
    # A rotation still hands over its new secret, with a warning about the old one.
    other, _ = isolated.create("team-b")
    rotated, secret = isolated.rotate("team-b")
    assert isolated.lookup(secret) == rotated
    assert len(warnings) == 1
    assert other.prefix in warnings[0]
    assert "cannot reach Redis" in warnings[0]
    cut_off.close()


def test_names_are_unique_among_live_keys(service: KeyService) -> None:
    service.create("team-a")
    with pytest.raises(KeyExists, match="'team-a'"):
        service.create("team-a")
    assert len(service.list()) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "team a"}, "name"),
        ({"name": "-team"}, "name"),
        ({"name": "t" * 65}, "name"),
        ({"name": "vk_team"}, "name"),
        ({"budgets": [parse_budget("5/day"), parse_budget("6/day")]}, "budgets"),
        ({"budgets": [BudgetLimit("day", Decimal(0))]}, "budgets"),
        ({"budgets": [BudgetLimit("day", Decimal("NaN"))]}, "budgets"),
        ({"rpm": 0}, "rpm"),
        ({"rpm": True}, "rpm"),
        ({"rpm": 1.5}, "rpm"),
        ({"tpm": 10**13}, "tpm"),
        ({"lanes": "coding"}, "lanes"),
        ({"lanes": ["coding", "lane:x"]}, "lanes"),
        ({"models": ["gpt 5"]}, "models"),
        ({"models": [""]}, "models"),
        ({"expires_in_s": 0}, "expires_in_s"),
        ({"expires_in_s": float("inf")}, "expires_in_s"),
        ({"expires_in_s": "30d"}, "expires_in_s"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    tmp_path: Path, clock: ManualClock, changes: dict[str, object], field: str
) -> None:
    # Checked before any store is touched: one store is enough.
    store = SQLiteKeyStore(tmp_path / "ledger.db")
    service = KeyService(store, LocalRevocations(), clock)
    arguments: dict[str, object] = {"name": "team-a", **changes}
    with pytest.raises(KeyFieldError) as failure:
        service.create(**arguments)  # type: ignore[arg-type]
    assert failure.value.field == field
    assert str(failure.value).startswith(f"{field}: ")
    assert service.list() == []
    store.close()
