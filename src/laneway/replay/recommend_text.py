"""A recommendation (laneway.replay.recommend) as people read it and as JSON: the one-sentence
decision, why, the cells side by side, and what would settle an open question. Money is exact
in JSON (strings) and rounded only in text (laneway.replay.summary_text.money).

    move lane legacy from gpt-5.2 to gpt-5.4-mini at effort low: no worse than the baseline by
    more than 2 points (one-sided 95%, Holm-adjusted), 64% cheaper per request, ceiling 2x
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from laneway.replay.recommend import CellOption, Recommendation
from laneway.replay.summary_text import UNKNOWN, money


def sentence(found: Recommendation) -> str:
    """The decision in one sentence."""
    where = f"lane {found.lane.lane}" if found.lane.lane else "this workload"
    pick = found.pick
    if pick is None:
        return f"keep {where} on {found.from_model}: {found.reason}"
    effort = f" at effort {pick.effort}" if pick.effort else ""
    level = f"one-sided {_percent(found.confidence)}, Holm-adjusted"
    if pick.verdict == "better":
        how = f"better than the baseline ({level})"
    else:
        how = f"no worse than the baseline by more than {_points(found.margin)} ({level})"
    parts = [
        f"move {where} from {found.from_model} to {pick.model}{effort}: {how}",
        f"{_percent(pick.saving_share)} cheaper per request",
        f"ceiling {_ratio(pick.ceiling_rpm, found.baseline.ceiling_rpm)}",
    ]
    if pick.saving_per_day_usd is not None and found.traffic is not None:
        parts.append(
            f"saving {money(pick.saving_per_day_usd)}/day at {found.traffic.per_day:,.0f} "
            f"requests/day (the last {found.traffic.days} days)"
        )
    return ", ".join(parts)


def settle_text(found: Recommendation) -> str | None:
    """How much more evidence would likely settle the open candidate worth settling."""
    cell = found.settle
    if cell is None or cell.more_lines is None:
        return None
    more = cell.more_lines
    return (
        f"evidence is short: about {more.lines:,} more line(s) would likely settle {cell.label} "
        f"(inconclusive now; {money(cell.cost_per_request_usd)} per request) as "
        f"{more.toward} (power {_percent(more.power)})"
    )


def recommendation_text(found: Recommendation) -> str:
    lines = [sentence(found)]
    if found.pick is None:
        for option in found.options:
            lines.append(f"  {option.label}: {option.verdict}{_bound(option, found.margin)}")
    settle = settle_text(found)
    if settle:
        lines.append(settle)
    if found.plan:
        lines.append(found.plan)
    lines.append("")
    header = ("cell", "verdict", "diff [lower]", "$/request", "saving", "$/day", "ceiling rpm",
              "failures (recovered)")  # fmt: skip
    rows = [header, *(_row(option, found) for option in (found.baseline, *found.options))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]  # fmt: skip
    if found.notes:
        lines.append("")
        lines += [f"note: {note}" for note in found.notes]
    return "\n".join(lines)


def recommendation_value(found: Recommendation) -> dict[str, Any]:
    traffic = found.traffic
    return {
        "run_id": found.run_id,
        "lane": found.lane.lane,
        "lane_source": found.lane.source,
        "sentence": sentence(found),
        "reason": found.reason,
        "pick": None if found.pick is None else found.pick.label,
        "margin": found.margin,
        "confidence": found.confidence,
        "traffic": None
        if traffic is None
        else {"requests": traffic.requests, "days": traffic.days, "per_day": str(traffic.per_day)},
        "baseline": _option_value(found.baseline),
        "candidates": [_option_value(option) for option in found.options],
        "settle": settle_text(found),
        "plan": found.plan,
        "notes": list(found.notes),
    }


def _option_value(option: CellOption) -> dict[str, Any]:
    more = option.more_lines
    return {
        "label": option.label,
        "model": option.model,
        "effort": option.effort,
        "verdict": option.verdict,
        "estimate": option.estimate,
        "lower": option.lower,
        "cost_per_request_usd": _exact(option.cost_per_request_usd),
        "saving_per_request_usd": _exact(option.saving_per_request_usd),
        "saving_share": _exact(option.saving_share),
        "saving_per_day_usd": _exact(option.saving_per_day_usd),
        "ceiling_rpm": _exact(option.ceiling_rpm),
        "calls": option.calls,
        "failures": option.failures,
        "recovered": option.recovered,
        "more_lines": None
        if more is None
        else {"lines": more.lines, "toward": more.toward, "power": more.power, "note": more.note},
    }


def _row(option: CellOption, found: Recommendation) -> tuple[str, ...]:
    failed = sum(option.failures.values())
    verdict: str = "baseline" if option.verdict is None else option.verdict
    if option is found.pick:
        verdict += " <- pick"
    diff = "-"
    if option.estimate is not None:
        diff = f"{_signed(option.estimate)} [{_signed(option.lower)}]"
    return (
        option.label,
        verdict,
        diff,
        money(option.cost_per_request_usd),
        "-" if option.verdict is None else _percent(option.saving_share),
        "-" if option.verdict is None else money(option.saving_per_day_usd),
        UNKNOWN if option.ceiling_rpm is None else f"{option.ceiling_rpm:,.0f}",
        f"{failed} ({option.recovered})",
    )


def _bound(option: CellOption, margin: float) -> str:
    if option.lower is None:
        return ""
    return f" (lower bound {_signed(option.lower)} points against -{_points(margin)})"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}"


def _points(margin: float) -> str:
    return f"{margin * 100:g} points"


def _percent(share: Decimal | float | None) -> str:
    return UNKNOWN if share is None else f"{float(share) * 100:.0f}%"


def _ratio(value: Decimal | None, baseline: Decimal | None) -> str:
    if value is None or not baseline:
        return UNKNOWN
    return f"{float(value / baseline):.1f}".removesuffix(".0") + "x"


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
