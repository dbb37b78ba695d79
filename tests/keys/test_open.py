"""What a config opens: the key store beside the ledger, and the revocation channel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from laneway.config import GatewayConfig
from laneway.keys.open import open_key_store, open_revocations
from laneway.keys.postgres_store import PostgresKeyStore
from laneway.keys.revocations import LocalRevocations
from laneway.keys.sqlite_store import SQLiteKeyStore
from tests.services import REDIS_URL


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield connection
    connection.close()


def test_the_config_picks_redis_or_nothing(redis_namespace: str, client: redis.Redis) -> None:
    local = open_revocations(GatewayConfig(), {})
    assert isinstance(local, LocalRevocations)
    config = GatewayConfig.model_validate(
        {
            "state": {
                "backend": "redis",
                "url": "redis://127.0.0.1:1/0",
                "namespace": redis_namespace,
            }
        }
    )
    # The variable wins over the file's url, as for the gateway itself.
    shared = open_revocations(config, {"LANEWAY_REDIS_URL": REDIS_URL})
    try:
        shared.announce("abcdefghij")
    finally:
        shared.close()
    assert client.sismember(f"{redis_namespace}:revoked", "abcdefghij")


def test_the_config_picks_the_key_store_beside_the_ledger(
    tmp_path: Path, postgres_url: str
) -> None:
    path = tmp_path / "data" / "ledger.db"
    config = GatewayConfig.model_validate({"ledger": {"path": str(path)}})
    store = open_key_store(config, {})
    assert isinstance(store, SQLiteKeyStore)
    store.close()
    assert path.is_file()
    # With no path in the file, $LANEWAY_LEDGER names it, as for `laneway serve`.
    elsewhere = tmp_path / "elsewhere.db"
    store = open_key_store(GatewayConfig(), {"LANEWAY_LEDGER": str(elsewhere)})
    store.close()
    assert elsewhere.is_file()
    config = GatewayConfig.model_validate({"ledger": {"backend": "postgres"}})
    store = open_key_store(config, {"LANEWAY_POSTGRES_DSN": postgres_url})
    assert isinstance(store, PostgresKeyStore)
    assert store.all() == []
    store.close()
