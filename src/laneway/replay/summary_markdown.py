"""summary.md: a run's summary for people, one table row per cell, then the notes. It says so
when quality is only agreement with the baseline, and when the emulator's skills answered."""

from __future__ import annotations

from laneway.replay import summary_text as text
from laneway.replay.cell_summary import CellSummary
from laneway.replay.summary import RunSummary

_HEADERS = (
    "cell",
    "calls",
    "quality (grader)",
    "passing",
    "cost / 1k calls",
    "cost / passing answer",
    "latency p50 / p95 / p99",
    "TTFT p50 / p95",
    "failures",
    "ceiling",
    "achieved",
)


def summary_markdown(summary: RunSummary) -> str:
    lines = [f"# Replay {summary.run_id}", "", *_preamble(summary), ""]
    lines.append("| " + " | ".join(_HEADERS) + " |")
    lines.append("|" + "---|" * len(_HEADERS))
    lines.extend("| " + " | ".join(_escape(v) for v in _row(cell)) + " |" for cell in summary.cells)
    lines += ["", "## Cost per 1,000 calls by kind", ""]
    lines.append("| cell | uncached input | cached input | output | of which reasoning |")
    lines.append("|---|---|---|---|---|")
    lines.extend(_parts_row(cell) for cell in summary.cells)
    lines += ["", "## Notes", ""]
    lines.extend(f"- {note}" for note in summary.notes)
    return "\n".join(lines) + "\n"


def _preamble(summary: RunSummary) -> list[str]:
    spent = text.money(summary.spent_usd)
    if summary.unknown_costs:
        spent += f" (and {summary.unknown_costs} call(s) of unknown cost)"
    lines = [
        f"{summary.completed} of {summary.planned} calls, against {summary.upstream}"
        f" (tier {summary.tier or 'unknown'}); spent {spent}.",
    ]
    if summary.stopped:
        lines.append(f"Stopped short: {summary.stopped}.")
    if summary.quality_kind == "agreement":
        lines.append("")
        lines.append("**Quality is agreement with the baseline, not correctness.**")
    if summary.emulated:
        lines.append("")
        lines.append("**Emulated skills, not real models' quality.**")
    return lines


def _row(cell: CellSummary) -> list[str]:
    latency = cell.latency
    label = cell.label + (" (baseline)" if cell.baseline else "")
    return [
        label,
        f"{cell.calls}/{cell.planned}",
        text.quality(cell),
        text.passing(cell),
        text.money(cell.cost.per_1k_usd),
        text.money(cell.cost.per_pass_usd) if cell.quality.passing else "-",
        " / ".join(text.ms(v) for v in (latency.p50_ms, latency.p95_ms, latency.p99_ms)),
        " / ".join(text.ms(v) for v in (latency.ttft_p50_ms, latency.ttft_p95_ms)),
        text.failures(cell),
        text.ceiling(cell),
        text.achieved(cell),
    ]


def _parts_row(cell: CellSummary) -> str:
    kinds = ("uncached_input", "cached_input", "output", "reasoning")
    shown = [text.money(cell.cost.part_per_1k(kind, cell.calls)) for kind in kinds]
    return "| " + " | ".join(_escape(v) for v in [cell.label, *shown]) + " |"


def _escape(value: str) -> str:
    return value.replace("|", "\\|")
