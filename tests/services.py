"""The real Redis and PostgreSQL the tests use (127.0.0.1:6379 and :5432; scripts/services
starts them). Every test gets its own PostgreSQL database and its own Redis key namespace, so
tests run in parallel without seeing each other's state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_dsn(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{database}"


def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; its DSN is yielded and it is dropped afterwards."""
    name = "laneway_t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_dsn(name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_namespace() -> Iterator[str]:
    """A Redis key prefix no other test uses; every key under it is deleted afterwards."""
    namespace = "lwtest:" + uuid.uuid4().hex[:12]
    yield namespace
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=namespace + ":*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
