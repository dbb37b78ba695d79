"""`laneway keys`: create, list, update, revoke and rotate virtual keys.

A key's secret is printed once, by `create` or `rotate`, on stdout (a note on stderr says so);
nothing else ever prints it. Listings show the prefix, the key's public part.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from laneway.assembly import Assembly
from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.output import print_json, stdout_console, warn
from laneway.clock import SystemClock
from laneway.config import GatewayConfig
from laneway.keys.model import VirtualKey
from laneway.keys.parse import parse_budgets, parse_count, parse_names, parse_span
from laneway.keys.revocations import LocalRevocations
from laneway.keys.service import KeyService
from laneway.pricing.money import usd_display, usd_str
from laneway.quota.budget import Window
from laneway.quota.windows import window_start
from laneway.routing.lanes import lane_names

_PASSTHROUGH_HELP = (
    "May use the /v1/* paths [passthrough] opens (files, ...) with the provider's key; only "
    "for a key without lanes, models, budgets or rate limits."
)


@click.group("keys")
def keys_command() -> None:
    """Virtual keys: per-team keys with budgets, rate limits and lanes, stored as digests."""


@keys_command.command("create")
@click.option("--name", required=True, help="A unique name, e.g. team-a.")
@click.option(
    "--budget",
    "budgets",
    multiple=True,
    metavar="USD/WINDOW",
    help="Spend limit in USD per day, month or lifetime, e.g. 50/day; repeat for each window.",
)
@click.option("--rpm", default=None, metavar="N", help="Requests per minute, e.g. 600.")
@click.option("--tpm", default=None, metavar="N", help="Tokens per minute: 40000, 150k, 2M.")
@click.option(
    "--lanes", default=None, metavar="A,B", help="Lanes it may use; the first is its default."
)
@click.option("--models", default=None, metavar="A,B", help="Plain model ids it may use.")
@click.option("--expires", default=None, metavar="SPAN", help="Lifetime: 30d, 12h, 90m, 3600s.")
@click.option("--passthrough", is_flag=True, help=_PASSTHROUGH_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, the key included.")
@config_option
def create_command(
    name: str,
    budgets: Sequence[str],
    rpm: str | None,
    tpm: str | None,
    lanes: str | None,
    models: str | None,
    expires: str | None,
    passthrough: bool,
    as_json: bool,
    config_path: Path | None,
) -> None:
    """Create a key and print it, this once: only its digest is stored."""
    limits = parse_budgets(budgets, "--budget")
    rpm_value = None if rpm is None else parse_count(rpm, "--rpm")
    tpm_value = None if tpm is None else parse_count(tpm, "--tpm")
    lanes_given = () if lanes is None else parse_names(lanes, "--lanes")
    model_names = () if models is None else parse_names(models, "--models")
    expires_in_s = None if expires is None else parse_span(expires, "--expires")
    config = GatewayConfig.load(config_path)
    with assembly_of(config) as parts:
        # Nothing to announce when creating: no revocation channel is opened.
        was_open = not config.client_keys() and not parts.key_store.all()
        known = lane_names(config.lanes, config.routing.shipped_lanes)
        service = KeyService(
            parts.key_store,
            LocalRevocations(),
            SystemClock(),
            lanes=known,
            models=parts.model_names(),
        )
        key, secret = service.create(
            name,
            budgets=limits,
            rpm=rpm_value,
            tpm=tpm_value,
            lanes=lanes_given,
            models=model_names,
            expires_in_s=expires_in_s,
            passthrough=passthrough,
        )
    _print_secret(key, secret, as_json, f"Created key {key.name!r} ({key.prefix}, id {key.id}).")
    if was_open:
        warn(
            "this is the first client key: the gateway accepted any bearer until now, and from "
            f"its next key refresh (within {config.keys.refresh_s:g} s) it refuses every client "
            "without a key. Give each client a key (laneway keys create)."
        )


@keys_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (money as decimal strings).")
@config_option
def list_command(as_json: bool, config_path: Path | None) -> None:
    """Every key: prefix, name, status, limits and spend in each budget's current window."""
    now = SystemClock().time()
    with assembly_of(config_path) as parts:
        keys = parts.key_store.all()
        spend = _spend(parts, keys, now)
    if as_json:
        print_json([_listed(key, spend, now) for key in keys])
        return
    table = Table()
    for column in ("prefix", "name", "status", "budgets (spent of limit)", "rpm", "tpm"):
        table.add_column(column, justify="right" if column in ("rpm", "tpm") else "left")
    for column in ("lanes", "models", "expires"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.prefix,
            key.name,
            key.status(now),
            "\n".join(
                f"{usd_display(spend.get((key.id, b.window), Decimal(0)))} of "
                f"{usd_display(b.usd)}/{b.window}"
                for b in key.budgets
            )
            or "-",
            "-" if key.rpm is None else f"{key.rpm:,}",
            "-" if key.tpm is None else f"{key.tpm:,}",
            *_reach(key),
            _when(key.expires_at),
        )
    stdout_console().print(table)


@keys_command.command("update")
@click.argument("ref")
@click.option("--passthrough/--no-passthrough", default=None, help=_PASSTHROUGH_HELP)
@config_option
def update_command(ref: str, passthrough: bool | None, config_path: Path | None) -> None:
    """Change a key (by prefix, name or id): grant or withdraw passthrough."""
    if passthrough is None:
        raise click.UsageError("nothing to change: give --passthrough or --no-passthrough")
    with _service(config_path) as service:
        key = service.set_passthrough(ref, passthrough)
    state = "granted" if key.passthrough else "withdrawn"
    click.echo(f"Passthrough {state} for key {key.name!r} ({key.prefix}).")


@keys_command.command("revoke")
@click.argument("ref")
@config_option
def revoke_command(ref: str, config_path: Path | None) -> None:
    """Revoke a key (by prefix, name or id): it stops working on every replica at once."""
    with _service(config_path) as service:
        key, already = service.revoke(ref)
    if already:
        # Exit 0: the key is revoked, as asked (and announced again, which is how a failed
        # announcement is retried); a script revoking to be sure must not fail.
        click.echo(
            f"Key {key.name!r} ({key.prefix}) was already revoked, at {_when(key.revoked_at)}; "
            "announced again to every replica."
        )
        return
    click.echo(f"Revoked key {key.name!r} ({key.prefix}).")


@keys_command.command("rotate")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, the new key included.")
@config_option
def rotate_command(ref: str, as_json: bool, config_path: Path | None) -> None:
    """Give a key (by prefix, name or id) a new secret and print it, this once. The old secret
    stops working at once; id, limits and spend stay."""
    with _service(config_path) as service:
        old = service.get(ref)
        key, secret = service.rotate(old.id)
    note = (
        f"Rotated key {key.name!r}: {old.prefix} no longer works; its new prefix is {key.prefix}."
    )
    _print_secret(key, secret, as_json, note)


@contextmanager
def _service(config_path: Path | None) -> Iterator[KeyService]:
    """Keys and the revocation channel every replica listens on."""
    with assembly_of(config_path) as parts:
        yield KeyService(parts.key_store, parts.revocations, SystemClock(), warn=warn)


def _print_secret(key: VirtualKey, secret: str, as_json: bool, note: str) -> None:
    # stdout holds the key alone (or JSON with it), for a pipe; people read the note on stderr.
    if as_json:
        print_json({"key": secret, **key.public(SystemClock().time())})
    else:
        sys.stdout.write(secret + "\n")
    click.echo(f"{note} This is the only time the key is shown: store it now.", err=True)


def _spend(
    parts: Assembly, keys: Sequence[VirtualKey], now: float
) -> dict[tuple[str, Window], Decimal]:
    """Spend per (key id, window) in the window's current period, from the ledger."""
    windows = sorted({budget.window for key in keys for budget in key.budgets})
    if not windows:
        return {}
    ledger = parts.ledger
    spent = {window: ledger.key_spend(window_start(window, now)) for window in windows}
    return {
        (key.id, b.window): spent[b.window].get(key.id, Decimal(0))
        for key in keys
        for b in key.budgets
    }


def _when(moment: float | None) -> str:
    if moment is None:
        return "never"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _reach(key: VirtualKey) -> tuple[str, str]:
    """Its lanes and models as people read them: with neither listed, it may use any."""
    if key.unrestricted:
        return "any", "any"
    return ", ".join(key.lanes) or "none", ", ".join(key.models) or "none"


def _listed(
    key: VirtualKey, spend: Mapping[tuple[str, Window], Decimal], now: float
) -> dict[str, Any]:
    listed = key.public(now)
    listed["budgets"] = [
        {
            "window": b.window,
            "usd": usd_str(b.usd),
            "spent_usd": usd_str(spend.get((key.id, b.window), Decimal(0))),
        }
        for b in key.budgets
    ]
    return listed
