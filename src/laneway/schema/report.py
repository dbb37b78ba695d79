"""What opening a store found and did to its schema."""

from __future__ import annotations

from dataclasses import dataclass

from laneway.schema.steps import Dialect, Step


@dataclass(frozen=True, slots=True)
class MigrationReport:
    store: str  # "ledger" | "keys"
    dialect: Dialect
    where: str  # the SQLite file, or the PostgreSQL database and host (never a password)
    from_version: int  # the version found on opening (0: the store's tables did not exist)
    to_version: int  # the version it is at now, or would be once `pending` is applied
    applied: tuple[Step, ...] = ()  # by this opening (another process may have applied more)
    pending: tuple[Step, ...] = ()  # opened to check only: what applying would do

    @property
    def changed(self) -> bool:
        """Whether the schema moved on opening, by this process or a concurrent one."""
        return self.to_version != self.from_version and not self.pending
