"""Captured requests: a sample of live traffic kept as workload lines (laneway.capture), in the
ledger's backend so that replicas share them. The `captures` table is made by ledger schema
step 7; SQLite (laneway.ledger.captures_sqlite) and PostgreSQL (laneway.ledger.captures_postgres)
keep the same rows.

A row holds what a replay needs and nothing that identifies the caller: the request body and the
answer as redaction left them (JSON text), the models, the lane and the ledger record's id. Never
a key, a key id or a header.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from typing import Protocol

from laneway.errors import LanewayError

PAGE = 500  # rows read per query when listing: a long export never holds the store's lock


@dataclass(frozen=True, slots=True)
class CaptureRow:
    id: str
    created_at: float  # unix seconds: when the request settled
    lane: str | None  # None: a plain model id, outside any lane
    record_id: str  # the ledger record of the request
    endpoint: str  # "responses" | "chat"
    requested_model: str  # as the client named it (a model, a lane, "auto")
    answering_model: str | None
    effort: str | None  # the reasoning effort sent upstream (None: the model's default)
    request: str  # the request body, redacted, JSON text
    answer: str  # {"text": ..., "tool_calls": [{"name", "arguments"}]}, redacted, JSON text
    metadata: str | None  # the request's `metadata` object, redacted, JSON text

    def values(self) -> tuple[object, ...]:
        return astuple(self)


CAPTURE_COLUMNS = tuple(field.name for field in fields(CaptureRow))


class CaptureStoreError(LanewayError):
    """The capture store could not be read or written; the message never holds the DSN."""

    status = 503


class CaptureStore(Protocol):
    def add(self, rows: Sequence[CaptureRow]) -> None:
        """Store rows in one transaction (an id stored already is left as it is)."""

    def rows(
        self, lane: str | None, since: float | None, until: float | None
    ) -> Iterator[CaptureRow]:
        """Captures created in [since, until), oldest first, of `lane` (None: every lane and
        none), read a page at a time."""

    def count(self, lane: str | None, since: float | None, until: float | None) -> int: ...

    def purge(self, older_than: float) -> int:
        """Delete the captures created before `older_than`; how many were."""

    def close(self) -> None: ...


def where(lane: str | None, since: float | None, until: float | None) -> tuple[float, float]:
    """The bounds as numbers (an open bound is infinite)."""
    del lane
    return (float("-inf") if since is None else since, float("inf") if until is None else until)
