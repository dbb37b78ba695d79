"""Why a store's schema cannot be used as it is."""

from __future__ import annotations

from laneway.errors import LanewayError
from laneway.schema.report import MigrationReport


class SchemaError(LanewayError):
    """A store's schema is not one this laneway can use."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer laneway: migrations only go forward, so this one
    cannot read it."""

    def __init__(self, store: str, where: str, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"{store} schema version {found} at {where} is newer than this laneway's "
            f"{known}: upgrade laneway"
        )


class SchemaPending(SchemaError):
    """Opened to check only (`check_only=True`), the store has migrations to apply, and cannot be
    used before they are. `report` says which."""

    def __init__(self, report: MigrationReport) -> None:
        self.report = report
        count = len(report.pending)
        super().__init__(
            f"{report.store} schema at {report.where} is at version {report.from_version}, "
            f"{count} migration{'s' if count != 1 else ''} to version {report.to_version} "
            "pending (laneway migrate applies them)"
        )
