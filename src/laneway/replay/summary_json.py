"""results.json: every figure of a run's summary for programs. Money is exact decimal text
(null when unknown), never a float; `emulated` is true when laneway's emulator answered, and the
notes say what a reader must know (agreement is not correctness, emulated skills are not real
models' quality)."""

from __future__ import annotations

import math
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from laneway.pricing.money import usd_str
from laneway.replay.cell_summary import TOKEN_KINDS, CellSummary
from laneway.replay.row_quality import FULL_MARKS, PASS_MARKS
from laneway.replay.summary import RunSummary

VERSION = 1  # of this file's layout


def summary_value(summary: RunSummary) -> dict[str, Any]:
    """The summary as plain JSON values (Decimal as exact text)."""
    value: dict[str, Any] = {"version": VERSION, **asdict(summary)}
    value["cells"] = [_cell(cell) for cell in summary.cells]
    value["pass_marks"] = {"default": FULL_MARKS, **PASS_MARKS}
    plain: dict[str, Any] = plain_value(value)
    return plain


def summary_json(summary: RunSummary) -> bytes:
    return orjson.dumps(summary_value(summary), option=orjson.OPT_INDENT_2) + b"\n"


def _cell(cell: CellSummary) -> dict[str, Any]:
    value = asdict(cell)
    value["tokens"]["per_request"] = {kind: cell.tokens.per_request(kind) for kind in TOKEN_KINDS}
    value["quality"]["graders_named"] = cell.quality.grader_names
    return value


def plain_value(value: Any) -> Any:
    """`value` as JSON values: money as exact decimal text, a figure that could not be computed
    (NaN: no line to compare on) as null, paths as text."""
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    if isinstance(value, Decimal):
        return usd_str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
