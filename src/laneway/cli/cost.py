"""`laneway cost`: what a request costs on one model, or on every model side by side."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table

from laneway.cli.amounts import parse_token_count
from laneway.cli.catalog_option import catalog_option, load_catalog
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, stdout_console, warn
from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import CostBreakdown, cost_of
from laneway.pricing.model_spec import ModelSpec
from laneway.pricing.money import usd_display, usd_str
from laneway.usage import Usage

_F = TypeVar("_F", bound=Callable[..., Any])


def _count_option(flag: str, help_text: str) -> Callable[[_F], _F]:
    return click.option(flag, default="0", metavar="N", help=help_text + " (300000, 300k, 1.2M).")


@click.command("cost")
@click.option("--model", "-m", default=None, help="Model id, snapshot or alias.")
@_count_option("--input", "Input tokens, cached ones included")
@_count_option("--cached", "Of the input, tokens read from the prompt cache")
@_count_option("--output", "Output tokens, reasoning included")
@_count_option("--reasoning", "Of the output, reasoning tokens")
@click.option("--batch", is_flag=True, help="Price at the Batch API discount.")
@click.option("--compare", is_flag=True, help="Every catalog model side by side, cheapest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@catalog_option
def cost_command(
    model: str | None,
    input: str,
    cached: str,
    output: str,
    reasoning: str,
    batch: bool,
    compare: bool,
    as_json: bool,
    catalog_path: Path | None,
) -> None:
    """Price a request exactly from the catalog: input, cached input, output and reasoning."""
    if compare == (model is not None):
        raise CliError("give either --model MODEL or --compare")
    usage = _usage(input, cached, output, reasoning)
    catalog = load_catalog(catalog_path)
    spec = None if model is None else catalog.get(model)  # an unknown model is said first
    if usage.total_tokens == 0:
        # A table of $0.00 answers nothing; the prices alone are in `laneway models`.
        raise CliError(
            "no token counts: give --input and/or --output, e.g. --input 10k --output 1k"
        )

    if spec is not None:
        breakdown = cost_of(spec, usage, batch=batch)
        if as_json:
            print_json(breakdown_json(spec, breakdown))
        else:
            stdout_console().print(_breakdown_table(spec, breakdown))
        if breakdown.unknown:
            warn(f"{spec.id}: {'; '.join(breakdown.unknown)}: the total is unknown")
        for problem in beyond_limits(spec, usage):
            warn(f"{spec.id}: {problem}: no such request can be sent (priced all the same)")
        return

    ranked = _ranked(catalog, usage, batch)
    if as_json:
        print_json([breakdown_json(catalog.get(b.model), b) for b in ranked])
    else:
        stdout_console().print(_comparison_table(ranked, usage, batch))
    unknown = [b.model for b in ranked if not b.known]
    if unknown:
        warn(f"unknown total for {', '.join(unknown)}: a price it needs is not in the catalog")
    too_small = [spec.id for spec in catalog if beyond_limits(spec, usage)]
    if too_small:
        warn(
            f"beyond the context window or output limit of {', '.join(too_small)}: no such "
            "request can be sent there (priced all the same)"
        )


def _usage(input: str, cached: str, output: str, reasoning: str) -> Usage:
    """The counts as given, checked against each other."""
    counts = {
        "input": parse_token_count(input, "--input"),
        "cached": parse_token_count(cached, "--cached"),
        "output": parse_token_count(output, "--output"),
        "reasoning": parse_token_count(reasoning, "--reasoning"),
    }
    if counts["cached"] > counts["input"]:
        raise CliError(
            f"--cached ({counts['cached']}) exceeds --input ({counts['input']}): "
            "cached tokens are a part of the input"
        )
    if counts["reasoning"] > counts["output"]:
        raise CliError(
            f"--reasoning ({counts['reasoning']}) exceeds --output ({counts['output']}): "
            "reasoning tokens are a part of the output"
        )
    return Usage(
        input_tokens=counts["input"],
        output_tokens=counts["output"],
        cached_input_tokens=counts["cached"],
        reasoning_tokens=counts["reasoning"],
    )


def beyond_limits(spec: ModelSpec, usage: Usage) -> list[str]:
    """What in `usage` the model cannot hold: its context window (input and output together)
    or its output limit. Unknown limits are not guessed at."""
    problems = []
    window, most = spec.context_window, spec.max_output_tokens
    total = usage.input_tokens + usage.output_tokens
    if window is not None and total > window:
        problems.append(
            f"{usage.input_tokens:,} input + {usage.output_tokens:,} output tokens exceed its "
            f"context window of {window:,}"
        )
    if most is not None and usage.output_tokens > most:
        problems.append(f"{usage.output_tokens:,} output tokens exceed its limit of {most:,}")
    return problems


def _ranked(catalog: Catalog, usage: Usage, batch: bool) -> list[CostBreakdown]:
    """Every model's cost of `usage`, cheapest first, unknown last. An embedding model writes
    nothing: it is compared only for usage without output."""
    return sorted(
        (
            cost_of(spec, usage, batch=batch)
            for spec in catalog
            if spec.kind == "text" or not usage.output_tokens
        ),
        key=lambda b: (b.total is None, b.total if b.total is not None else Decimal(0), b.model),
    )


def _usd_or_null(amount: Decimal | None) -> str | None:
    return None if amount is None else usd_str(amount)


def breakdown_json(spec: ModelSpec, breakdown: CostBreakdown) -> dict[str, Any]:
    """The JSON form: token counts as integers, money as exact decimal strings (null = unknown)."""
    usage = breakdown.usage
    prices = spec.prices
    return {
        "model": breakdown.model,
        "batch": breakdown.batch,
        "batch_discount": _usd_or_null(spec.batch_discount) if breakdown.batch else None,
        "input_tokens": usage.input_tokens,
        "cached_tokens": usage.cached_input_tokens,
        "uncached_input_tokens": usage.uncached_input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "prices_per_million_usd": {
            "input": _usd_or_null(prices.input),
            "cached_input": _usd_or_null(prices.cached_input),
            "output": _usd_or_null(prices.output),
        },
        "uncached_input_usd": _usd_or_null(breakdown.uncached_input),
        "cached_input_usd": _usd_or_null(breakdown.cached_input),
        "output_usd": _usd_or_null(breakdown.output),
        "reasoning_usd": _usd_or_null(breakdown.reasoning),
        "total_usd": _usd_or_null(breakdown.total),
        "unknown": list(breakdown.unknown),
    }


def _breakdown_table(spec: ModelSpec, breakdown: CostBreakdown) -> Table:
    title = spec.id
    if breakdown.batch:
        discount = spec.batch_discount
        title += " (batch" + (f", {usd_str(discount * 100)}% off)" if discount else ")")
    table = Table(title=title, title_justify="left")
    table.add_column("part")
    table.add_column("tokens", justify="right")
    table.add_column("USD per 1M", justify="right")
    table.add_column("cost", justify="right")
    usage, prices = breakdown.usage, spec.prices
    table.add_row(
        "uncached input",
        f"{usage.uncached_input_tokens:,}",
        usd_display(prices.input),
        usd_display(breakdown.uncached_input),
    )
    table.add_row(
        "cached input",
        f"{usage.cached_input_tokens:,}",
        usd_display(prices.cached_input),
        usd_display(breakdown.cached_input),
    )
    table.add_row(
        "output",
        f"{usage.output_tokens:,}",
        usd_display(prices.output),
        usd_display(breakdown.output),
    )
    table.add_row(
        "  of which reasoning",
        f"{usage.reasoning_tokens:,}",
        "",
        usd_display(breakdown.reasoning),
    )
    table.add_section()
    table.add_row(
        "total", f"{usage.total_tokens:,}", "", usd_display(breakdown.total), style="bold"
    )
    return table


def _comparison_table(ranked: list[CostBreakdown], usage: Usage, batch: bool) -> Table:
    title = (
        f"{usage.input_tokens:,} input ({usage.cached_input_tokens:,} cached), "
        f"{usage.output_tokens:,} output" + (", batch" if batch else "")
    )
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    table.add_column("uncached input", justify="right")
    table.add_column("cached input", justify="right")
    table.add_column("output", justify="right")
    table.add_column("total", justify="right")
    for b in ranked:
        total = usd_display(b.total) if b.known else "unknown*"
        table.add_row(
            b.model,
            usd_display(b.uncached_input),
            usd_display(b.cached_input),
            usd_display(b.output),
            total,
        )
    if any(not b.known for b in ranked):
        table.caption = "* a price this request needs is unknown; never read it as zero"
    return table
