"""Opening stores to check their schema only, changing nothing.

Stores migrate when they are opened, and are opened by code that knows which backend a config
names; `laneway migrate --check` opens them through that same code inside `check_only()`, so it
needs no knowledge of backends. A context variable rather than a parameter: the openers (the
composition root) take none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CHECK_ONLY: ContextVar[bool] = ContextVar("laneway_schema_check_only", default=False)


@contextmanager
def check_only() -> Iterator[None]:
    """Stores opened inside apply no migration: one with migrations pending raises
    SchemaPending (with its report) instead of opening, and a SQLite file that does not exist
    is not made."""
    token = _CHECK_ONLY.set(True)
    try:
        yield
    finally:
        _CHECK_ONLY.reset(token)


def checking_only() -> bool:
    return _CHECK_ONLY.get()
