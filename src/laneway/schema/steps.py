"""A store's schema as numbered steps, one list per store and dialect.

Step N takes a database from version N-1 to N; version 0 is a database without the store's
tables. A new database is made by applying every step, an old one by applying the steps after
its version, so the two cannot drift apart. Steps are never edited or removed once released:
a change is a new step at the end (forward only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dialect = Literal["sqlite", "postgres"]


@dataclass(frozen=True, slots=True)
class Step:
    version: int  # the version a database is at once the step is applied
    summary: str  # what it does, in a few words, for `laneway migrate` and the log
    statements: tuple[str, ...]  # DDL, one statement each, applied in order


@dataclass(frozen=True, slots=True)
class StoreSchema:
    """The migrations of one store in one dialect. The store's version is kept in its own table,
    `<store>_meta` (key 'schema_version'), so that stores sharing a database (the ledger and the
    keys in one SQLite file) are versioned apart."""

    store: str  # "ledger" | "keys"
    dialect: Dialect
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        numbers = [step.version for step in self.steps]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.store} ({self.dialect}): steps numbered {numbers}, not 1..n")

    @property
    def latest(self) -> int:
        """The version this laneway writes and reads."""
        return len(self.steps)

    @property
    def meta_table(self) -> str:
        return f"{self.store}_meta"

    def after(self, version: int) -> tuple[Step, ...]:
        """The steps that take a database at `version` to the latest."""
        return self.steps[version:]
