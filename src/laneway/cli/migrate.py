"""`laneway migrate`: bring the ledger's and the key store's schemas to this laneway's versions,
or (`--check`) say what that would do."""

from __future__ import annotations

from pathlib import Path

import click

from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.output import warn
from laneway.schema.report import MigrationReport
from laneway.schema.stores import Opener, migrate_stores

EXIT_PENDING = 1


@click.command("migrate")
@config_option
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: list the migrations pending; exit status 1 if there are any.",
)
def migrate_command(config_path: Path | None, check: bool) -> int:
    """Migrate the ledger and the key store to this laneway's schema versions, and report each
    store's version before and after. The gateway does the same whenever it opens them; this
    does it ahead of a deployment. Migrations only go forward: a store a newer laneway migrated
    is refused."""
    parts = assembly_of(config_path)
    openers: list[Opener] = [parts.open_ledger, parts.open_key_store]
    reports = migrate_stores(openers, check=check)
    for report in reports:
        click.echo(describe(report))
    pending = sum(len(report.pending) for report in reports)
    if pending:
        warn(f"{pending} pending migration(s); laneway migrate applies them")
        return EXIT_PENDING
    return 0


def describe(report: MigrationReport) -> str:
    """The store, where it is, what was (or would be) done; then a line per step."""
    head = f"{report.store} ({report.dialect}, {report.where}): "
    start, end = report.from_version, report.to_version
    if report.pending:
        head += f"at version {start}, {len(report.pending)} pending to version {end}"
    elif report.applied:
        head += f"migrated from version {start} to {end}"
    elif start != end:
        head += f"at version {end} (migrated from {start} by another process meanwhile)"
    else:
        head += f"at version {end}, up to date"
    steps = report.pending or report.applied
    return "\n".join([head, *(f"  {step.version}: {step.summary}" for step in steps)])
