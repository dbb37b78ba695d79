"""Migrating stores explicitly (`laneway migrate`), rather than as a side effect of serving.

A store migrates its schema whenever it is opened; this opens each one, reads what the opening
found and did, and closes it. Which backend a store has is the openers' business, so the caller
passes them (the composition root's `open_ledger`, `open_key_store`), each given whether to
check only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from laneway.schema.errors import SchemaPending
from laneway.schema.report import MigrationReport


class Migrated(Protocol):
    """A store opened: every ledger and key store."""

    @property
    def migration(self) -> MigrationReport: ...

    def close(self) -> None: ...


Opener = Callable[[bool], Migrated]  # given `check_only`


def migrate_stores(openers: Sequence[Opener], *, check: bool = False) -> list[MigrationReport]:
    """Each store brought to this laneway's schema version, in order; per store, the version
    it was at and is at now, and the steps applied. `check`: nothing is applied or created; the
    reports list the steps pending instead. A store that cannot be opened (unreachable, a schema
    newer than this laneway's) raises, after the stores before it were migrated."""
    reports = []
    for open_store in openers:
        try:
            store = open_store(check)
        except SchemaPending as pending:
            reports.append(pending.report)
            continue
        try:
            reports.append(store.migration)
        finally:
            store.close()
    return reports
