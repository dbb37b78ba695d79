"""Writing a run's summary into its run directory: results.json and summary.md, each replaced
whole (written beside, then renamed), so a reader never sees half a file and a rebuild from the
directory (`laneway replay summary RUN`) overwrites them cleanly."""

from __future__ import annotations

import os
from pathlib import Path

from laneway.replay.run_dir import SUMMARY_JSON, SUMMARY_MD, RunDir
from laneway.replay.summary import Resumption, RunSummary, summarise
from laneway.replay.summary_json import summary_json
from laneway.replay.summary_markdown import summary_markdown


def write_summary(run: RunDir, live: Resumption | None = None) -> RunSummary:
    """Summarise `run` and write both files; the summary, for the caller to show."""
    summary = summarise(run, live)
    _replace(run.file(SUMMARY_JSON), summary_json(summary))
    _replace(run.file(SUMMARY_MD), summary_markdown(summary).encode())
    return summary


def _replace(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
