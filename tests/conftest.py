"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.reference_tokenizer import ReferenceEncoding, load_reference
from tests.services import REDIS_URL, fresh_database, fresh_namespace


@pytest.fixture(scope="session")
def tiktoken_o200k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceEncoding]:
    """OpenAI's tiktoken o200k_base, offline (see tests/reference_tokenizer.py)."""
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        # Should tiktoken reach for the network instead of its cache, fail at once and loudly.
        patch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        yield load_reference(cache)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """DSN of a new, empty PostgreSQL database, dropped after the test (tests/services.py)."""
    yield from fresh_database()


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A Redis key prefix of this test's own, cleaned after it (tests/services.py)."""
    yield from fresh_namespace()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A client of the tests' Redis that answers in text, to look at what laneway wrote."""
    connection = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield connection
    connection.close()
