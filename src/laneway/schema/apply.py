"""The part of migrating that is the same in every dialect: read the version, refuse a newer
one, apply the steps after it one transaction at a time, report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from laneway.schema.errors import SchemaPending, SchemaTooNew
from laneway.schema.report import MigrationReport
from laneway.schema.steps import Step, StoreSchema

log = logging.getLogger(__name__)


def apply_steps(
    schema: StoreSchema,
    where: str,
    *,
    version: Callable[[], int],
    next_step: Callable[[], Step | None],
    check_only: bool = False,
) -> MigrationReport:
    """Bring a database to `schema.latest`. `version` reads its version (0: no tables yet);
    `next_step` applies the step after the version it finds, with the version bump, in one
    transaction under the dialect's lock, and returns it, or None once at the latest: it reads
    the version again under the lock, so of several openers each step is applied once.
    `check_only`: apply nothing; steps pending raise SchemaPending with the report."""
    found = version()
    refuse_newer(schema, where, found)
    report = MigrationReport(schema.store, schema.dialect, where, found, schema.latest)
    if found == schema.latest:
        return report
    if check_only:
        raise SchemaPending(replace(report, pending=schema.after(found)))
    applied = []
    while (step := next_step()) is not None:
        applied.append(step)
        log.info(
            "%s (%s, %s): schema migrated to version %d: %s",
            schema.store,
            schema.dialect,
            where,
            step.version,
            step.summary,
        )
    return replace(report, applied=tuple(applied))


def refuse_newer(schema: StoreSchema, where: str, found: int) -> None:
    if found > schema.latest:
        raise SchemaTooNew(schema.store, where, found, schema.latest)
