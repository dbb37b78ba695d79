"""Writing a run's report: report.html, report.md and report.json, into the run directory or
another, each replaced whole (written beside, then renamed), so a reader never sees half a
file and a rebuild (`laneway replay report RUN`) overwrites them cleanly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from laneway.replay.report.model import Report
from laneway.replay.report.report_html import report_html
from laneway.replay.report.report_json import report_json
from laneway.replay.report.report_markdown import report_markdown

HTML: Final = "report.html"
MARKDOWN: Final = "report.md"
JSON: Final = "report.json"


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path
    markdown: Path
    json: Path


def write_report(report: Report, out: Path) -> ReportFiles:
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out / HTML, out / MARKDOWN, out / JSON)
    replace(files.json, report_json(report))
    replace(files.markdown, report_markdown(report).encode())
    replace(files.html, report_html(report).encode())
    return files


def replace(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
