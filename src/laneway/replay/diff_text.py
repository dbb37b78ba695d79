"""A run-vs-run diff (laneway.replay.diff) as people read it: plain text for the terminal and
Markdown for a pull request. Quality changes are in points (0.02 is 2 points), money rounded
only here (laneway.replay.summary_text.money); answers are cut to ANSWER_CHARS with their line
breaks shown, and in Markdown every character that would make markup of them is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final

from laneway.replay.cell_summary import CellSummary
from laneway.replay.diff import CellDiff, Flip, RunDiff
from laneway.replay.diff_lines import LineAnswer
from laneway.replay.stats.results import Interval
from laneway.replay.summary_text import money, ms

ANSWER_CHARS: Final = 160
FLIPS_SHOWN: Final = 10
MORE: Final = "(--json lists every one)"
_HEADERS: Final = (
    "cell", "quality A", "quality B", "B - A [95%] (points)", "method", "$/request A",
    "$/request B", "p50 A", "p50 B", "regressions", "recoveries",
)  # fmt: skip
_SECTIONS: Final = (
    ("regressions", "Regressions: passed in A, failed in B"),
    ("recoveries", "Recoveries: failed in A, passed in B"),
)
# Markdown's own characters, escaped with a backslash so an answer shows as written.
_MARKUP: Final = re.compile(r"([\\`*_\[\]<>|~&$#])")


def diff_text(found: RunDiff, shown: int = FLIPS_SHOWN) -> str:
    """`shown`: flips listed per cell and direction (the rest counted)."""
    lines = [_heading(found), ""]
    rows = [_HEADERS, *(_row(cell) for cell in found.cells)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]  # fmt: skip
    lines += _only(found, "{} (not compared): {}", lambda text: text)
    for attribute, title in _SECTIONS:
        flips, more = _listed(found, attribute, shown)
        if flips or more:
            lines += ["", f"{title}:"]
        for label, flip in flips:
            lines.append(f"  {label}  {flip.custom_id}")
            lines.append(f"    A: {_answer(flip.a, _one_line)}")
            lines.append(f"    B: {_answer(flip.b, _one_line)}")
        lines += [f"  {label}: {count} more {MORE}" for label, count in more]
    lines += ["", *(f"note: {note}" for note in found.notes)]
    return "\n".join(lines)


def diff_markdown(found: RunDiff, shown: int = FLIPS_SHOWN) -> str:
    title = escape_markdown(f"Replay diff: {found.a.run_id} (A) to {found.b.run_id} (B)")
    lines = [f"# {title}", "", escape_markdown(_heading(found))]
    lines += ["", _table_row(_HEADERS), "|" + "---|" * len(_HEADERS)]
    lines += [_table_row(_row(cell)) for cell in found.cells]
    lines += _only(found, "- **{}** (not compared): {}", escape_markdown)
    for attribute, title in _SECTIONS:
        flips, more = _listed(found, attribute, shown)
        if flips or more:
            lines += ["", f"## {title}"]
        if flips:
            lines += ["", "| cell | line | A's answer | B's answer |", "|---|---|---|---|"]
            lines += [_flip_row(label, flip) for label, flip in flips]
        if more:
            lines.append("")
        lines += [f"- {escape_markdown(f'{label}: {count} more {MORE}')}" for label, count in more]
    lines += ["", "## Notes", "", *(f"- {escape_markdown(note)}" for note in found.notes)]
    return "\n".join(lines) + "\n"


def _listed(
    found: RunDiff, attribute: str, shown: int
) -> tuple[list[tuple[str, Flip]], list[tuple[str, int]]]:
    """The first `shown` flips of each cell in one direction, and how many more each has."""
    listed, more = [], []
    for cell in found.cells:
        flips: tuple[Flip, ...] = getattr(cell, attribute)
        listed += [(cell.label, flip) for flip in flips[:shown]]
        if len(flips) > shown:
            more.append((cell.label, len(flips) - shown))
    return listed, more


def escape_markdown(text: str) -> str:
    """`text` as one table cell's worth of Markdown that shows it as written."""
    return _MARKUP.sub(r"\\\1", text).replace("\r\n", "<br>").replace("\n", "<br>")


def points(change: Interval | None) -> str:
    if change is None:
        return "-"
    shown = [f"{value * 100:+.1f}" for value in (change.estimate, change.lower, change.upper)]
    return f"{shown[0]} [{shown[1]}, {shown[2]}]"


def _heading(found: RunDiff) -> str:
    return (
        f"{found.b.run_id} (B, {found.b.path}) against {found.a.run_id} (A, {found.a.path}): "
        f"{found.lines} workload line(s), workload sha256 {found.workload_sha256[:12]}"
    )


def _row(cell: CellDiff) -> tuple[str, ...]:
    return (
        cell.label,
        _quality(cell.a),
        _quality(cell.b),
        points(cell.change),
        "-" if cell.change is None else cell.change.method,
        money(cell.a.cost.per_request_usd),
        money(cell.b.cost.per_request_usd) + _signed_money(cell.cost_change_usd),
        ms(cell.a.latency.p50_ms),
        ms(cell.b.latency.p50_ms),
        str(len(cell.regressions)),
        str(len(cell.recoveries)),
    )


def _quality(cell: CellSummary) -> str:
    figures = cell.quality
    if figures.mean is None:
        return "-"
    return f"{figures.mean:.2f} ({figures.passing}/{figures.graded + figures.grader_errors})"


def _signed_money(change: Decimal | None) -> str:
    if change is None or not change:
        return ""
    sign = "+" if change > 0 else "-"
    return f" ({sign}{money(abs(change))})"


def _only(found: RunDiff, shape: str, shown: Callable[[str], str]) -> list[str]:
    lines = []
    for labels, which in ((found.only_in_a, "A"), (found.only_in_b, "B")):
        if labels:
            lines.append(shape.format(f"only in {which}", shown(", ".join(labels))))
    return ["", *lines] if lines else []


def _answer(answer: LineAnswer, shown: Callable[[str], str]) -> str:
    text = f"failed ({answer.failure})" if answer.failure else shown(answer.text or "")
    if answer.counted > 1:
        text += f" [{answer.passed}/{answer.counted} repeats passed]"
    return text


def _one_line(text: str) -> str:
    return _cut(text).replace("\r\n", "\n").replace("\n", " \u21b5 ")


def _cut(text: str) -> str:
    if len(text) <= ANSWER_CHARS:
        return text
    return f"{text[:ANSWER_CHARS]}\u2026 (+{len(text) - ANSWER_CHARS} chars)"


def _flip_row(label: str, flip: Flip) -> str:
    cells = [
        escape_markdown(label),
        escape_markdown(flip.custom_id),
        escape_markdown(_answer(flip.a, _cut)),
        escape_markdown(_answer(flip.b, _cut)),
    ]
    return "| " + " | ".join(cells) + " |"


def _table_row(values: Sequence[str]) -> str:
    return "| " + " | ".join(escape_markdown(value) for value in values) + " |"
