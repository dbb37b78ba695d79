"""The per-cell table `laneway replay` prints, from a summary of hand-built rows."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from laneway.cli.replay_table import print_summary
from laneway.replay.graders import Grade
from laneway.replay.run_dir import RunDir
from laneway.replay.summary import summarise
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, line, row

PASS = Grade("exact", 1.0, "4", "exactly '4'?")


def _printed(path: Path, *, expect: bool) -> str:
    lines = [line("q1", {"exact": "4"} if expect else None), line("q2", max_output_tokens=500)]
    rows = [
        row(BASELINE, "q1", cost="0.0175", latency_ms=300, grades=[PASS] if expect else ()),
        row(BASELINE, "q2", cost="0.0025", latency_ms=500, attempts=2),
        row(CANDIDATE, "q1", cost="0.00125", latency_ms=100, grades=[PASS] if expect else ()),
        row(CANDIDATE, "q2", "error", cost="0", error_kind="timeout", attempts=2),
    ]
    build_run(path, lines, rows)
    console = Console(width=240, record=True, highlight=False)
    print_summary(console, summarise(RunDir(path)))
    return console.export_text()


def test_each_cell_has_cost_quality_latency_failures_and_ceiling(tmp_path: Path) -> None:
    text = _printed(tmp_path, expect=True)
    baseline = next(x for x in text.splitlines() if "gpt-5.2@none (baseline)" in x)
    for figure in ("2/2", "1.00 (exact)", "1/1", "$10.00", "$0.02", "1 recovered", "rpm (tpm)"):
        assert figure in baseline, figure
    candidate = next(x for x in text.splitlines() if "gpt-5.4-mini@low" in x)
    for figure in ("$0.625", "$0.00125", "100 ms / 100 ms", "1 (timeout 1)", "unknown"):
        assert figure in candidate, figure
    assert "replay run_test: 4/4 calls on emulator, tier tier-1, spent $0.02125" in text
    assert "note: answered by laneway's emulator: its skills are emulated" in text


def test_agreement_is_named_in_the_table(tmp_path: Path) -> None:
    text = _printed(tmp_path, expect=False)
    assert "agreement 1.00" in text
    assert "not correctness" in text
