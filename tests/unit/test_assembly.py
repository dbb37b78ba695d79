"""The composition root: what a config opens (the ledger and key store on SQLite or PostgreSQL,
the revocation channel), what it builds only when asked, and that it closes what it built."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import redis

from laneway.assembly import EMULATOR_PROVIDER, Assembly, Upstream, effective_providers
from laneway.config import GatewayConfig
from laneway.keys.postgres_store import PostgresKeyStore
from laneway.keys.revocations import LocalRevocations
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.sqlite import SQLiteLedger
from tests.services import REDIS_URL


def test_the_config_picks_redis_or_nothing_for_revocations(
    redis_namespace: str, redis_client: redis.Redis
) -> None:
    assert isinstance(Assembly(GatewayConfig(), {}).revocations, LocalRevocations)
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
    with Assembly(config, {"LANEWAY_REDIS_URL": REDIS_URL}) as parts:
        parts.revocations.announce("abcdefghij")
    assert redis_client.sismember(f"{redis_namespace}:revoked", "abcdefghij")


def test_the_ledger_and_key_store_live_together_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ledger.db"
    config = GatewayConfig.model_validate({"ledger": {"path": str(path)}})
    with Assembly(config, {"LANEWAY_LEDGER": str(tmp_path / "not-this.db")}) as parts:
        assert isinstance(parts.ledger, SQLiteLedger)
        assert isinstance(parts.key_store, SQLiteKeyStore)
    assert path.is_file()
    assert not (tmp_path / "not-this.db").exists()  # the config's path beats the variable
    # With no path in the file, $LANEWAY_LEDGER names it, as for `laneway serve`.
    elsewhere = tmp_path / "elsewhere.db"
    with Assembly(GatewayConfig(), {"LANEWAY_LEDGER": str(elsewhere)}) as parts:
        assert parts.ledger_path == elsewhere
        assert parts.key_store.all() == []
    assert elsewhere.is_file()


def test_the_ledger_and_key_store_live_together_in_postgres(postgres_url: str) -> None:
    config = GatewayConfig.model_validate({"ledger": {"backend": "postgres"}})
    with Assembly(config, {"LANEWAY_POSTGRES_DSN": postgres_url}) as parts:
        assert parts.ledger_path is None
        assert isinstance(parts.ledger, PostgresLedger)
        assert isinstance(parts.key_store, PostgresKeyStore)
        assert parts.ledger.count_unsettled() == 0
        assert parts.key_store.all() == []


def test_only_what_is_asked_for_is_built(tmp_path: Path) -> None:
    parts = Assembly(GatewayConfig(), {"LANEWAY_LEDGER": str(tmp_path / "ledger.db")})
    parts.dry_lanes()  # no store, no upstream, no emulator
    assert not (tmp_path / "ledger.db").exists()
    parts.close_stores()


def test_no_provider_and_no_key_starts_an_emulator_and_closing_stops_it(tmp_path: Path) -> None:
    assert effective_providers(GatewayConfig(), {}) is None
    parts = Assembly(GatewayConfig(), {"LANEWAY_LEDGER": str(tmp_path / "ledger.db")})

    async def build_and_close() -> Upstream:
        gateway = parts.gateway
        assert [p.name for p in gateway.providers] == [EMULATOR_PROVIDER]
        upstream = parts.upstream
        assert upstream.emulator is not None
        await parts.close()
        await parts.close()  # a second close does nothing
        return upstream

    upstream = asyncio.run(build_and_close())
    assert upstream.emulator is not None
    with pytest.raises(ConnectionRefusedError):  # its port is closed
        socket.create_connection(("127.0.0.1", upstream.emulator.port), timeout=2).close()


def test_a_shared_upstream_is_never_stopped_by_its_borrower(tmp_path: Path) -> None:
    owner = Upstream.resolve(GatewayConfig(), {})
    try:
        borrowed = owner.shared()
        assert borrowed.emulator is None
        assert dict(borrowed.providers) == dict(owner.providers)
        borrowed.close()  # nothing to stop
        assert owner.emulator is not None
    finally:
        owner.close()
