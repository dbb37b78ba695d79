"""`laneway lanes`: each lane with its policy, candidates and their health.

Health lives in the running gateway (breakers and rate-limit headroom are per process), so
`--gateway URL` asks one for it (GET /laneway/lanes); without it the lanes come from config and
every candidate shows the health a fresh gateway starts with.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, stdout_console
from laneway.routing.listing import lanes_listing
from laneway.upstream.health import Health

_TIMEOUT_S = 5.0


@click.command("lanes")
@config_option
@click.option(
    "--gateway",
    default=None,
    metavar="URL",
    help="A running gateway to read live health from, e.g. http://127.0.0.1:4141.",
)
@click.option(
    "--api-key",
    default=None,
    envvar="LANEWAY_API_KEY",
    help="The client key for --gateway [env LANEWAY_API_KEY].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def lanes_command(
    config_path: Path | None, gateway: str | None, api_key: str | None, as_json: bool
) -> None:
    """List lanes: policy, candidates (model@provider), effort, and each candidate's health."""
    if gateway is not None:
        lanes = _fetch(gateway, api_key)
    else:
        parts = assembly_of(config_path)  # no store is opened: health is a fresh gateway's
        lanes = lanes_listing(parts.dry_lanes(), Health.fresh(parts.clock))
    if as_json:
        print_json(lanes)
        return
    table = Table()
    for column in ("lane", "policy", "effort", "candidates (health, headroom)", "aliases"):
        table.add_column(column)
    for lane in lanes:
        effort = f"{lane['effort'] or '-'} (max {lane['max_effort'] or '-'})"
        rows = [_candidate(c) for c in lane["candidates"]]
        rows += [_candidate(c) + " [fallback]" for c in lane["fallbacks"]]
        if lane["shadow"]:
            shadow = lane["shadow"]
            rows.append(f"shadow {', '.join(shadow['candidates'])} at {shadow['share']:.0%}")
        aliases = ", ".join(["lane:" + lane["name"], *lane["aliases"]])
        table.add_row(lane["name"], lane["policy"], effort, "\n".join(rows), aliases)
    stdout_console().print(table)


def _candidate(entry: dict[str, Any]) -> str:
    weight = f" weight {entry['weight']}" if entry["weight"] is not None else ""
    return f"{entry['candidate']}{weight}: {entry['health']}, headroom {entry['headroom']}"


def _fetch(gateway: str, api_key: str | None) -> list[dict[str, Any]]:
    url = gateway.rstrip("/").removesuffix("/v1") + "/laneway/lanes"
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--gateway must be an http:// or https:// URL, got {gateway!r}")
    request = urllib.request.Request(url)  # noqa: S310 - the scheme is checked above
    if api_key:
        request.add_header("authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as answer:  # noqa: S310
            body = orjson.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise CliError(f"{url}: the gateway answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"{url}: cannot reach the gateway ({exc})") from exc
    data: list[dict[str, Any]] = body["data"]
    return data
