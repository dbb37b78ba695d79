"""The storage interface the ledger writes through; SQLite now, PostgreSQL later."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from laneway.ledger.record import LedgerRecord, Row


class LedgerRepository(Protocol):
    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        """In one transaction, in this order: each `reserve` row unless its id is stored
        already (a reservation never overwrites a settlement that raced ahead of it), then
        each `settle` row, replacing any stored row of its id. Rows are `to_row` tuples."""

    def reserve(self, records: Sequence[LedgerRecord]) -> None:
        """Store new records (status "reserved") in one transaction."""

    def settle(self, records: Sequence[LedgerRecord]) -> None:
        """Replace records with their settled state in one transaction (insert if missing)."""

    def get(self, record_id: str) -> LedgerRecord | None: ...

    def unsettled(self) -> list[LedgerRecord]:
        """Records still reserved: requests whose outcome was never recorded."""

    def count_unsettled(self) -> int: ...

    def between(self, since: float | None, until: float | None) -> Iterator[LedgerRecord]:
        """Records created in [since, until), oldest first."""

    def close(self) -> None: ...
