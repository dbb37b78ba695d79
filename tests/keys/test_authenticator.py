"""Who a bearer is: virtual keys found by prefix, checked by digest; configured keys otherwise."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from laneway.clock import ManualClock
from laneway.keys.registry import KeyRegistry
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.server.auth import Authenticator, ClientKeys
from laneway.wire.errors import ApiError
from tests.keys.conftest import NOW, make_key

STATIC = "lw-statickeyx-configured-by-the-operator"  # starts like a virtual key, is not one


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[KeyRegistry]:
    store = SQLiteKeyStore(tmp_path / "keys.db")
    yield KeyRegistry(store, ManualClock(NOW))
    store.close()


def bearer(secret: str) -> bytes:
    return f"Bearer {secret}".encode()


def test_a_cached_key_is_its_client_and_the_same_client_until_the_key_changes(
    registry: KeyRegistry,
) -> None:
    key, secret = make_key(lanes=("coding",))
    registry.update(key)
    auth = Authenticator(ClientKeys(()), registry, ManualClock(NOW))

    client = auth.identify(bearer(secret))
    assert client is not None
    assert (client.key_id, client.key, client.prefix, client.default_lane) == (
        key.id,
        key,
        key.prefix,
        "coding",
    )
    assert auth.identify(bearer(secret)) is client

    changed = dataclasses.replace(key, lanes=("extraction",), rpm=5)
    registry.update(changed)
    again = auth.identify(bearer(secret))
    assert again is not None
    assert again is not client
    assert (again.key, again.default_lane) == (changed, "extraction")


def test_a_wrong_secret_for_a_known_prefix_is_401(registry: KeyRegistry) -> None:
    key, secret = make_key()
    registry.update(key)
    auth = Authenticator(ClientKeys(()), registry, ManualClock(NOW))
    wrong = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")

    with pytest.raises(ApiError) as raised:
        auth.identify(bearer(wrong))
    assert raised.value.status == 401
    assert secret not in raised.value.message
    assert wrong not in raised.value.message


def test_revoked_and_expired_keys_are_401_naming_the_prefix(registry: KeyRegistry) -> None:
    clock = ManualClock(NOW)
    revoked, revoked_secret = make_key("gone", revoked_at=NOW)
    expiring, expiring_secret = make_key("brief", expires_at=NOW + 10)
    registry.update(revoked)
    registry.update(expiring)
    auth = Authenticator(ClientKeys(()), registry, clock)

    with pytest.raises(ApiError, match=f"{revoked.prefix} has been revoked"):
        auth.identify(bearer(revoked_secret))
    assert auth.identify(bearer(expiring_secret)) is not None
    clock.advance(10)
    with pytest.raises(ApiError, match=f"{expiring.prefix} has been expired"):
        auth.identify(bearer(expiring_secret))


def test_a_well_formed_key_not_cached_must_be_looked_up(registry: KeyRegistry) -> None:
    _key, secret = make_key()  # never given to the registry
    auth = Authenticator(ClientKeys(()), registry, ManualClock(NOW))
    assert auth.identify(bearer(secret)) is None


def test_a_malformed_bearer_sharing_a_prefix_is_judged_as_a_configured_key(
    registry: KeyRegistry,
) -> None:
    # The text where a prefix would be names a cached key, but the bearer is not well formed:
    # it is not that key (its digest differs), and it may be a configured key.
    key, _ = make_key(prefix="statickeyx")
    registry.update(key)
    auth = Authenticator(ClientKeys([STATIC]), registry, ManualClock(NOW))

    client = auth.identify(bearer(STATIC))
    assert client is not None
    assert client.key is None
    assert client.key_id is not None
    with pytest.raises(ApiError) as raised:
        auth.identify(bearer("lw-statickeyx-not-configured"))
    assert raised.value.status == 401
