"""The storage interface the ledger writes and reads through: SQLite (laneway.ledger.sqlite)
or PostgreSQL (laneway.ledger.postgres), the same rows and meanings in both."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Protocol

from laneway.errors import LanewayError
from laneway.ledger.record import LedgerRecord, Row
from laneway.schema.report import MigrationReport

# (key id, provider, answering model) of a Responses answer: whose it is and where it lives.
ResponseHome = tuple[str | None, str | None, str | None]
# The oldest record naming a response id is the one that created it.
RESPONSE_HOME_SQL = (
    "SELECT key_id, provider, answering_model FROM requests WHERE response_id = ? "
    "ORDER BY created_at LIMIT 1"
)


class LedgerUnavailable(LanewayError):
    """The store could not be opened, or stayed unreachable through the repository's own
    retries: trying again at once, or row by row, would only wait as long again. The message
    never holds the DSN."""

    status = 503


class LedgerRepository(Protocol):
    @property
    def migration(self) -> MigrationReport:
        """What opening the store found and did to its schema (laneway.schema)."""

    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        """In one transaction, in this order: each `reserve` row unless its id is stored
        already (a reservation never overwrites a settlement that raced ahead of it), then
        each `settle` row, replacing any stored row of its id. Rows are `to_row` tuples."""

    def reserve(self, records: Sequence[LedgerRecord]) -> None:
        """Store new records (status "reserved") in one transaction."""

    def settle(self, records: Sequence[LedgerRecord]) -> None:
        """Replace records with their settled state in one transaction (insert if missing)."""

    def add_unauthenticated(self, counts: Sequence[tuple[float, str, str, int]]) -> None:
        """In one transaction: add each (minute, reason, client, n) to the stored count of its
        (minute, reason, client), inserting it when there is none."""

    def unauthenticated(
        self, since: float | None, until: float | None
    ) -> list[tuple[float, str, str, int]]:
        """Counts of unauthenticated requests whose minute is in [since, until): (minute,
        reason, client, count), oldest first."""

    def get(self, record_id: str) -> LedgerRecord | None: ...

    def response_home(self, response_id: str) -> ResponseHome | None:
        """(key id, provider, answering model) of the record that answered with this
        Responses id: whose it is and where it lives (None: no record names it)."""

    def unsettled(self) -> list[LedgerRecord]:
        """Records still reserved: requests whose outcome was never recorded."""

    def count_unsettled(self) -> int: ...

    def between(self, since: float | None, until: float | None) -> Iterator[LedgerRecord]:
        """Records created in [since, until), oldest first."""

    def lane_profiles(self, since: float) -> list[tuple[str, str, int, float, float]]:
        """Per (lane, answering model) since `since`: answers, mean output tokens, and the
        mean cached share of input, over settled primary answers (not shadows) with usage."""

    def key_spend(self, since: float | None) -> dict[str, Decimal]:
        """Per key id: the exact sum of cost over records created at or after `since` (None:
        all time). Shadow copies, records of unknown cost and records without a key are left
        out."""

    def lane_spend(self, since: float | None) -> dict[str | None, Decimal]:
        """Per lane (None: outside any lane): the exact sum of cost over records created at or
        after `since` (None: all time). Shadow copies and records of unknown cost are left
        out."""

    def close(self) -> None: ...
