"""report.json: every figure of the report (laneway.replay.report.model) for programs. Money is
exact decimal text (null when unknown), never a float; a figure that could not be computed is
null; `recommendation` is `laneway replay recommend --json`'s value with the report's paragraph
beside it. The latency charts' samples are left out (their percentiles are in)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from laneway.replay.cell_summary import TOKEN_KINDS
from laneway.replay.recommend_text import recommendation_value
from laneway.replay.report.model import VERSION, Report, ReportCell
from laneway.replay.summary_json import plain_value


def report_value(report: Report) -> dict[str, Any]:
    value: dict[str, Any] = {
        "version": VERSION,
        "run": asdict(report.run),
        "recommendation": {
            "paragraph": report.paragraph,
            **recommendation_value(report.recommendation),
        },
        "cells": [_cell(cell) for cell in report.cells],
        "pareto_front": list(report.front),
        "latencies": [
            {"label": s.label, "count": s.count, "percentiles_ms": s.percentiles}
            for s in report.latencies
        ],
        "regressions": [asdict(found) for found in report.regressions],
        "effort_curves": [asdict(curve) for curve in report.efforts],
        "spend": asdict(report.spend),
        "experiment_toml": report.experiment_toml,
        "prices_per_1m_tokens": [asdict(prices) for prices in report.prices],
        "seed": report.seed,
        "notes": list(report.notes),
    }
    plain: dict[str, Any] = plain_value(value)
    return plain


def report_json(report: Report) -> bytes:
    return orjson.dumps(report_value(report), option=orjson.OPT_INDENT_2) + b"\n"


def _cell(cell: ReportCell) -> dict[str, Any]:
    summary = asdict(cell.summary)
    summary["tokens"]["per_request"] = {
        kind: cell.summary.tokens.per_request(kind) for kind in TOKEN_KINDS
    }
    return {
        "label": cell.label,
        "picked": cell.picked,
        "on_front": cell.on_front,
        "verdict": cell.option.verdict,
        "difference": {"estimate": cell.option.estimate, "lower": cell.option.lower},
        "summary": summary,
        "intervals": asdict(cell.stats),
    }
