"""`laneway usage`: requests, tokens and cost from the ledger, and refusals counted apart.

Replay runs' records are no client's traffic: they are totalled apart, per run ("Replay runs"
below the traffic table; `replay_run` set in JSON and CSV rows), and `--run RUN_ID` shows one
run's alone."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any, get_args

import click
from rich.table import Table

from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, stdout_console, warn
from laneway.cli.time_range import parse_moment
from laneway.cli.usage_record import print_record
from laneway.config import GatewayConfig, LedgerConfig
from laneway.ledger.record import LedgerRecord
from laneway.ledger.report import (
    GroupBy,
    RefusalTotals,
    UsageTotals,
    by_run,
    refusal_totals,
    totals,
)
from laneway.ledger.sqlite import default_ledger_path
from laneway.pricing.money import usd_display, usd_str


@click.command("usage")
@click.option("--since", default=None, help="From this time: 2026-11-01, 2026-11-01T12:00, 24h.")
@click.option("--until", default=None, help="Up to (not including) this time.")
@click.option(
    "--group-by", type=click.Choice(get_args(GroupBy)), default="model", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (money as decimal strings).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.option(
    "--id", "record_id", default=None, metavar="REQ_ID", help="One record in full, by its id."
)
@click.option(
    "--refusals",
    "only_refusals",
    is_flag=True,
    help="Only the refusals: records by origin, unauthenticated requests by reason.",
)
@click.option(
    "--run", "run_id", default=None, metavar="RUN_ID", help="Only this replay run's records."
)
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="An SQLite ledger file to read instead of the config's ledger [default: the config's, "
    f"else $LANEWAY_LEDGER, else {default_ledger_path()}].",
)
@config_option
def usage_command(
    since: str | None,
    until: str | None,
    group_by: GroupBy,
    as_json: bool,
    as_csv: bool,
    record_id: str | None,
    only_refusals: bool,
    run_id: str | None,
    ledger_path: Path | None,
    config_path: Path | None,
) -> None:
    """Requests, tokens and cost recorded in the ledger, grouped by model, day, key (by name),
    provider or lane, then the refusals: records by origin, and requests without a valid key
    (only counted, per minute and client address). Replay runs are totalled apart, per run
    (--run RUN_ID: one run alone). --id shows one record in full. The ledger is the one
    `laneway serve` writes with the same config: SQLite or PostgreSQL."""
    if as_json and as_csv:
        raise CliError("give --json or --csv, not both")
    if only_refusals and as_csv:
        raise CliError("--refusals prints a table or --json, not --csv")
    low, high = _time_range(since, until)
    config = GatewayConfig.load(config_path)
    if ledger_path is not None:
        config = config.model_copy(update={"ledger": LedgerConfig(path=ledger_path)})
    with assembly_of(config) as parts:
        path = parts.ledger_path
        if path is not None and not path.is_file():
            raise CliError(f"no ledger at {path} (laneway serve writes it; --ledger names another)")
        # Keys by name, as `keys list` shows them (ids stay in JSON and for unnamed keys).
        names = {key.id: key.name for key in parts.key_store.all()}
        if record_id is not None:
            record = parts.ledger.get(record_id)
            if record is None:
                raise CliError(f"no record with id {record_id!r} in the ledger")
            print_record(record, names.get(record.key_id or ""), as_json=as_json)
            return
        traffic, runs = by_run(parts.ledger.between(low, high))
        unauthenticated = parts.ledger.unauthenticated(low, high) if run_id is None else []
    rows = _rows(traffic, runs, run_id, group_by)
    records = traffic if run_id is None else runs[run_id]
    refusals = refusal_totals(records, unauthenticated)
    if only_refusals:
        _print_refusals(refusals, as_json=as_json)
        return
    _print_totals(rows, group_by, names, refusals, "json" if as_json else "csv" if as_csv else "")
    unknown = sum(row.unknown_cost_requests for row in rows)
    if unknown:
        warn(f"{unknown} request(s) have an unknown cost; their groups' totals are unknown")
    unsettled = sum(row.unsettled for row in rows)
    if unsettled:
        warn(f"{unsettled} request(s) were never settled (their outcome was lost)")


def _rows(
    traffic: list[LedgerRecord],
    runs: dict[str, list[LedgerRecord]],
    run_id: str | None,
    group_by: GroupBy,
) -> list[UsageTotals]:
    """The traffic's groups then each run's (`run_id`: that run's alone)."""
    if run_id is not None:
        if run_id not in runs:
            raise CliError(f"no records of replay run {run_id!r} in the ledger (in this range)")
        return totals(runs[run_id], group_by, run_id)
    rows = totals(traffic, group_by)
    for run, records in runs.items():
        rows += totals(records, group_by, run)
    return rows


def _print_totals(
    rows: list[UsageTotals],
    group_by: str,
    names: dict[str, str],
    refusals: RefusalTotals,
    form: str,
) -> None:
    if form == "json":
        print_json([_json(row, group_by, names) for row in rows])
    elif form == "csv":
        _csv(rows, group_by, names)
    else:
        traffic = [row for row in rows if row.run is None]
        replays = [row for row in rows if row.run is not None]
        if traffic or not replays:
            stdout_console().print(_table(traffic, group_by, names))
        if replays:
            stdout_console().print(_table(replays, group_by, names, replay=True))
        if refusals.refused or refusals.unauthenticated:
            stdout_console().print(_refusals_table(refusals))


def _time_range(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    now = time.time()
    low = parse_moment(since, "--since", now) if since else None
    high = parse_moment(until, "--until", now) if until else None
    if low is not None and high is not None and high <= low:
        raise CliError(f"--until ({until}) is not after --since ({since}): the range is empty")
    return low, high


def _label(row: UsageTotals, group_by: str, names: dict[str, str]) -> str:
    return names.get(row.group, row.group) if group_by == "key" else row.group


def _json(row: UsageTotals, group_by: str, names: dict[str, str]) -> dict[str, Any]:
    cost = row.cost_usd
    ids = {"key_id": row.group} if group_by == "key" else {}
    return {
        group_by: _label(row, group_by, names),
        **ids,
        "requests": row.requests,
        "failed": row.failed,
        "refused": row.refused,
        "unsettled": row.unsettled,
        "input_tokens": row.input_tokens,
        "cached_input_tokens": row.cached_input_tokens,
        "output_tokens": row.output_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "cost_usd": None if cost is None else usd_str(cost),
        "known_cost_usd": usd_str(row.known_cost_usd),
        "unknown_cost_requests": row.unknown_cost_requests,
        "replay_run": row.run,
    }


def _csv(rows: list[UsageTotals], group_by: str, names: dict[str, str]) -> None:
    records = [_json(row, group_by, names) for row in rows]
    fields = list(records[0]) if records else [group_by, "requests"]
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})


def _table(
    rows: list[UsageTotals], group_by: str, names: dict[str, str], *, replay: bool = False
) -> Table:
    title = "Replay runs (not traffic)" if replay else "Usage"
    table = Table(title=f"{title} by {group_by}", title_justify="left")
    if replay:
        table.add_column("run")
    table.add_column(group_by)
    for name in ("requests", "failed", "refused", "input", "cached", "output", "reasoning", "cost"):
        table.add_column(name, justify="right")
    for row in rows:
        cost = usd_display(row.cost_usd)
        if row.cost_usd is None:
            cost = f"{usd_display(row.known_cost_usd)} + ?"
        table.add_row(
            *([row.run or ""] if replay else []),
            _label(row, group_by, names),
            f"{row.requests:,}",
            f"{row.failed:,}",
            f"{row.refused:,}",
            f"{row.input_tokens:,}",
            f"{row.cached_input_tokens:,}",
            f"{row.output_tokens:,}",
            f"{row.reasoning_tokens:,}",
            cost,
        )
    return table


def _print_refusals(refusals: RefusalTotals, *, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "refused": refusals.refused,
                "unauthenticated": refusals.unauthenticated,
                "unauthenticated_clients": refusals.unauthenticated_clients,
            }
        )
    else:
        stdout_console().print(_refusals_table(refusals))


def _refusals_table(refusals: RefusalTotals) -> Table:
    table = Table(title="Refusals", title_justify="left")
    for name in ("kind", "reason", "requests"):
        table.add_column(name, justify="right" if name == "requests" else "left")
    for reason, count in refusals.refused.items():
        table.add_row("recorded", reason, f"{count:,}")
    clients = f" (from {refusals.unauthenticated_clients:,} address(es))"
    for reason, count in refusals.unauthenticated.items():
        table.add_row("unauthenticated" + clients, reason, f"{count:,}")
    return table
