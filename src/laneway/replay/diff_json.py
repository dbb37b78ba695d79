"""A run-vs-run diff (laneway.replay.diff) as JSON: every figure, money as exact strings (None
when unknown), quality on its 0..1 scale, and the flipped lines' answers whole."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from laneway.replay.cell_summary import CellSummary
from laneway.replay.diff import CellDiff, Flip, RunDiff
from laneway.replay.summary import RunSummary


def diff_value(found: RunDiff) -> dict[str, Any]:
    return {
        "a": _run(found.a),
        "b": _run(found.b),
        "workload_sha256": found.workload_sha256,
        "lines": found.lines,
        "confidence": found.confidence,
        "cells": [_cell(cell) for cell in found.cells],
        "only_in_a": list(found.only_in_a),
        "only_in_b": list(found.only_in_b),
        "notes": list(found.notes),
    }


def _run(summary: RunSummary) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "path": str(summary.path),
        "upstream": summary.upstream,
        "emulated": summary.emulated,
        "quality_kind": summary.quality_kind,
    }


def _cell(cell: CellDiff) -> dict[str, Any]:
    return {
        "label": cell.label,
        "a": _side(cell.a),
        "b": _side(cell.b),
        "quality_change": None if cell.change is None else asdict(cell.change),
        "cost_per_request_change_usd": _exact(cell.cost_change_usd),
        "latency_p50_change_ms": cell.latency_change_ms,
        "regressions": [_flip(flip) for flip in cell.regressions],
        "recoveries": [_flip(flip) for flip in cell.recoveries],
    }


def _side(cell: CellSummary) -> dict[str, Any]:
    quality = cell.quality
    return {
        "calls": cell.calls,
        "failures": cell.failures,
        "quality": quality.mean,
        "passing": quality.passing,
        "graded": quality.graded,
        "grader_errors": quality.grader_errors,
        "cost_per_request_usd": _exact(cell.cost.per_request_usd),
        "cost_unknown_calls": cell.cost.unknown,
        "latency_p50_ms": cell.latency.p50_ms,
    }


def _flip(flip: Flip) -> dict[str, Any]:
    return {"custom_id": flip.custom_id, "a": asdict(flip.a), "b": asdict(flip.b)}


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
