"""`laneway replay --plan`: the cells, their calls and the worst-case and expected cost from the
catalog, printed before any call is made (and nothing is called)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from laneway.pricing.money import usd_str
from laneway.replay.plan import RunPlan
from laneway.replay.summary_text import money


def plan_table(plan: RunPlan) -> Table:
    table = Table(title="replay plan (no call made)", title_justify="left")
    table.add_column("cell")
    table.add_column("calls", justify="right")
    table.add_column("expected", justify="right")
    table.add_column("worst case", justify="right")
    for cell in plan.cells:
        label = cell.cell.label + (" (baseline)" if cell.cell.baseline else "")
        table.add_row(label, f"{cell.calls:,}", money(cell.expected_usd), money(cell.worst_usd))
    if (judges := plan.judges) is not None:
        table.add_row("judges", f"{judges.calls:,}", money(judges.expected_usd),
                      money(judges.worst_usd))  # fmt: skip
    table.add_row("all", f"{plan.calls:,}", money(plan.expected_usd), money(plan.worst_usd))
    return table


def print_plan(console: Console, plan: RunPlan) -> None:
    console.print(plan_table(plan))
    for note in plan.notes:
        console.print(f"note: {note}", markup=False)
    console.print(_cap_line(plan), markup=False)


def _cap_line(plan: RunPlan) -> str:
    if plan.spend_cap_usd is None:
        return "spend cap: none (--spend-cap USD sets one)"
    cap = money(plan.spend_cap_usd)
    if plan.over_cap:
        worst = money(plan.worst_usd)
        return (
            f"spend cap: {cap}; the worst case ({worst}) exceeds it: the run stops at the cap, "
            "and starts only with --over-cap"
        )
    return f"spend cap: {cap}; the worst case fits within it"


def plan_value(plan: RunPlan) -> dict[str, Any]:
    """The plan as JSON values, money as exact text (null when a price is unknown)."""

    def usd(amount: Any) -> str | None:
        return None if amount is None else usd_str(amount)

    return {
        "cells": [
            {
                "cell": cell.cell.label,
                "baseline": cell.cell.baseline,
                "calls": cell.calls,
                "expected_usd": usd(cell.expected_usd),
                "worst_usd": usd(cell.worst_usd),
            }
            for cell in plan.cells
        ],
        "judges": None
        if (judges := plan.judges) is None
        else {
            "calls": judges.calls,
            "expected_usd": usd(judges.expected_usd),
            "worst_usd": usd(judges.worst_usd),
        },
        "calls": plan.calls,
        "expected_usd": usd(plan.expected_usd),
        "worst_usd": usd(plan.worst_usd),
        "spend_cap_usd": usd(plan.spend_cap_usd),
        "over_cap": plan.over_cap,
        "notes": list(plan.notes),
    }
