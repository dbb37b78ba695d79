"""The key store and revocation channel a config names."""

from __future__ import annotations

from collections.abc import Mapping

from laneway.config import GatewayConfig
from laneway.keys.postgres_store import PostgresKeyStore
from laneway.keys.revocations import LocalRevocations, RedisRevocations, Revocations
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.keys.store import KeyStore


def open_key_store(config: GatewayConfig, env: Mapping[str, str]) -> KeyStore:
    """Beside the ledger: its SQLite file, or its PostgreSQL database."""
    if config.ledger.backend == "postgres":
        return PostgresKeyStore(config.ledger.resolved_dsn(env))
    # Imported here: server.assemble will open key stores, and a top-level import would be
    # circular.
    from laneway.server.assemble import ledger_path  # noqa: PLC0415

    return SQLiteKeyStore(ledger_path(config, env))


def open_revocations(config: GatewayConfig, env: Mapping[str, str]) -> Revocations:
    """Redis when admission state is there (every replica checks it); else nothing to tell."""
    state = config.state
    if state.backend == "redis":
        return RedisRevocations(state.resolved_url(env), state.namespace, timeout_s=state.timeout_s)
    return LocalRevocations()
