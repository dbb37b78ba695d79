"""`laneway models`: the catalog as a table or JSON."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from laneway.cli.catalog_option import catalog_option, load_catalog
from laneway.cli.output import print_json, stdout_console
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import CAPABILITIES, TIERS, ModelSpec, TierLimit
from laneway.pricing.money import usd_display

_UNKNOWN = "?"


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@catalog_option
def models_command(as_json: bool, catalog_path: Path | None) -> None:
    """List the model catalog: windows, prices, capabilities, lifecycle and successor."""
    catalog = load_catalog(catalog_path)
    if as_json:
        print_json([model_json(spec) for spec in catalog])
    else:
        console = stdout_console()
        for table in (
            _figures_table(catalog),
            _capabilities_table(catalog),
            _limits_table(catalog),
        ):
            console.print(table)


def model_json(spec: ModelSpec) -> dict[str, Any]:
    """One entry as JSON: decimals as strings, unknown figures as null."""
    data: dict[str, Any] = spec.model_dump(mode="json")
    data["names"] = list(spec.names)
    return data


def _count(value: int | None) -> str:
    if value is None:
        return _UNKNOWN
    for unit, size in (("M", 1_000_000), ("K", 1_000)):
        if value >= size and value % (size // 100) == 0:
            return format((Decimal(value) / size).normalize(), "f") + unit
    return f"{value:,}"


_CAPABILITY_HEADERS = {
    "computer_use": "computer",
    "tool_search": "tool srch",
    "mcp": "mcp",
    "web_search": "web",
    "file_search": "file",
    "code_interpreter": "code",
    "image_generation": "image",
    "hosted_shell": "shell",
    "apply_patch": "patch",
    "skills": "skills",
}
_MARK = {True: "yes", False: "no", None: _UNKNOWN}
_NOT_APPLICABLE = "-"


def _price(value: Decimal | None) -> str:
    return _UNKNOWN if value is None else usd_display(value)


def _figures_table(catalog: Catalog) -> Table:
    table = Table(
        title="Models (USD per 1M tokens; ? = unknown, never zero; - = not applicable)",
        title_justify="left",
    )
    table.add_column("model")
    table.add_column("lifecycle")
    for name in ("context", "max out", "input", "cached", "output"):
        table.add_column(name, justify="right")
    table.add_column("cutoff")
    table.add_column("efforts")
    for spec in catalog:
        efforts = spec.reasoning_efforts
        cells = [
            _count(spec.max_output_tokens),
            _price(spec.prices.input),
            _price(spec.prices.cached_input),
            _price(spec.prices.output),
            spec.knowledge_cutoff.isoformat() if spec.knowledge_cutoff else _UNKNOWN,
            ", ".join(efforts) if efforts else _UNKNOWN,
        ]
        if spec.kind == "embedding":  # input only: the rest does not apply (not unknown)
            cells = [_NOT_APPLICABLE, cells[1], *[_NOT_APPLICABLE] * 4]
        table.add_row(
            spec.id + (f"\n{spec.snapshot}" if spec.snapshot else ""),
            spec.lifecycle + (f"\n-> {spec.successor}" if spec.successor else ""),
            _count(spec.context_window),
            *cells,
        )
    return table


def _capabilities_table(catalog: Catalog) -> Table:
    table = Table(title="Capabilities", title_justify="left")
    table.add_column("model")
    for name in CAPABILITIES:
        table.add_column(_CAPABILITY_HEADERS[name], justify="center")
    for spec in catalog:
        table.add_row(spec.id, *(_MARK[spec.capabilities.get(name)] for name in CAPABILITIES))
    return table


def _limits_table(catalog: Catalog) -> Table:
    table = Table(title="Published rate limits (RPM / TPM)", title_justify="left")
    table.add_column("model")
    for tier in TIERS:
        table.add_column(tier, justify="right")
    for spec in catalog:
        cells = []
        for tier in TIERS:
            entry = spec.rate_limits.get(tier)
            if isinstance(entry, TierLimit):
                cells.append(f"{_count(entry.rpm)}\n{_count(entry.tpm)}")
            else:
                cells.append("no" if entry == "unsupported" else _UNKNOWN)
        table.add_row(spec.id, *cells)
    return table
