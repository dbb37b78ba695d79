"""The replay report: a model built once from a run directory (`build_report`), rendered as
report.html, report.md and report.json (`write_report`); `laneway replay report RUN`.

    from laneway.replay.report import build_report, write_report
    report = build_report(RunDir(path))       # seed 0, margin 2 points, 10 regressions shown
    files = write_report(report, path)        # files.html, files.markdown, files.json
"""

from laneway.replay.report.build import build_report
from laneway.replay.report.files import ReportFiles, write_report
from laneway.replay.report.model import Report

__all__ = ["Report", "ReportFiles", "build_report", "write_report"]
