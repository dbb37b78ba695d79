"""`laneway reconcile`: the ledger against the provider's bill, each residual named by reason."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json
from laneway.cli.time_range import parse_moment
from laneway.config import GatewayConfig, LedgerConfig
from laneway.ledger.provider_bill import BillError, billed_usd, day_range
from laneway.ledger.reconcile import Reconciliation, reconcile
from laneway.pricing.money import usd_str


@click.command("reconcile")
@click.option(
    "--bill-url",
    required=True,
    help="The provider's API base, whose /organization/costs is read: "
    "https://api.openai.com/v1, or the emulator's.",
)
@click.option(
    "--admin-key-env",
    default="OPENAI_ADMIN_KEY",
    show_default=True,
    help="The environment variable holding the admin key the Costs API needs.",
)
@click.option("--since", required=True, help="From this day: 2026-11-01, or 7d (ago).")
@click.option("--until", default=None, help="Up to this time [default: now].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (money as decimal strings).")
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="An SQLite ledger file to read instead of the config's ledger.",
)
@config_option
def reconcile_command(
    bill_url: str,
    admin_key_env: str,
    since: str,
    until: str | None,
    as_json: bool,
    ledger_path: Path | None,
    config_path: Path | None,
) -> None:
    """Hold the ledger against what the provider billed, over whole UTC days (the Costs API's
    buckets); any difference is named by the reasons the records carry."""
    now = time.time()
    start, end = day_range(
        parse_moment(since, "--since", now),
        parse_moment(until, "--until", now) if until else now,
    )
    key = os.environ.get(admin_key_env)
    if not key:
        raise CliError(f"${admin_key_env} is not set: the Costs API needs an admin key")
    config = GatewayConfig.load(config_path)
    if ledger_path is not None:
        config = config.model_copy(update={"ledger": LedgerConfig(path=ledger_path)})
    try:
        bill = billed_usd(bill_url, key, start, end)
    except BillError as error:
        raise CliError(str(error)) from None
    with assembly_of(config) as parts:
        path = parts.ledger_path
        if path is not None and not path.is_file():
            raise CliError(f"no ledger at {path} (laneway serve writes it; --ledger names another)")
        result = reconcile(parts.ledger.between(start, end), bill)
    if as_json:
        print_json(_json(result, start, end))
    else:
        for line in result.summary():
            click.echo(line)


def _json(result: Reconciliation, start: int, end: int) -> dict[str, Any]:
    return {
        "start_time": start,
        "end_time": end,
        "bill_usd": usd_str(result.bill_usd),
        "ledger_usd": usd_str(result.ledger_usd),
        "difference_usd": usd_str(result.difference),
        "named_by": list(result.reasons),
        "explained": result.explained,
        "by_basis": {
            basis: {
                "records": line.records,
                "ledger_usd": usd_str(line.ledger_usd),
                "unknown_cost_records": line.unknown,
                "attempts_given_up": line.given_up,
            }
            for basis, line in result.lines.items()
        },
    }
