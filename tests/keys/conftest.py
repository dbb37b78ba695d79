"""Key stores under test: the same tests run on SQLite (a temporary file) and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from laneway.keys.model import VirtualKey
from laneway.keys.postgres_store import PostgresKeyStore
from laneway.keys.secret import new_secret
from laneway.keys.service import new_key_id
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.keys.store import KeyStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyStore]:
    opened: KeyStore
    if request.param == "sqlite":
        opened = SQLiteKeyStore(tmp_path / "ledger.db")
    else:
        opened = PostgresKeyStore(request.getfixturevalue("postgres_url"))
    yield opened
    opened.close()


NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def make_key(name: str = "team-a", **changes: object) -> tuple[VirtualKey, str]:
    """A key and its secret, as the service would make them (no store involved)."""
    secret = new_secret()
    fields: dict[str, object] = {
        "id": new_key_id(),
        "name": name,
        "prefix": secret.prefix,
        "digest": secret.digest,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return VirtualKey(**fields), secret.key  # type: ignore[arg-type]
