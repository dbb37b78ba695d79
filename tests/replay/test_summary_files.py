"""results.json and summary.md, written into the run directory and rebuilt from it alone."""

from __future__ import annotations

from pathlib import Path

import orjson

from laneway.replay.graders import Grade
from laneway.replay.run_dir import SUMMARY_JSON, SUMMARY_MD, RunDir
from laneway.replay.summary_files import write_summary
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, line, row

PASS = Grade("exact", 1.0, "4", "exactly '4'?")


def _run(path: Path, *, expect: bool, upstream: str = "emulator") -> None:
    lines = [line("q1", {"exact": "4"} if expect else None), line("q2")]
    rows = [
        row(BASELINE, "q1", cost="0.0175", grades=[PASS] if expect else ()),
        row(BASELINE, "q2", cost="0.0025"),
        row(CANDIDATE, "q1", cost="0.00125", grades=[PASS] if expect else ()),
        row(CANDIDATE, "q2", "error", cost="0", error_kind="timeout", attempts=2),
    ]
    build_run(path, lines, rows, upstream=upstream)


def test_results_json_has_every_figure_with_money_as_exact_text(tmp_path: Path) -> None:
    _run(tmp_path, expect=True)
    write_summary(RunDir(tmp_path))
    value = orjson.loads((tmp_path / SUMMARY_JSON).read_bytes())
    assert (value["run_id"], value["emulated"], value["quality_kind"]) == (
        "run_test",
        True,
        "expectations",
    )
    assert value["spent_usd"] == "0.02125"
    candidate = value["cells"][1]
    assert candidate["label"] == "gpt-5.4-mini@low"
    assert candidate["cost"] == {
        "total_usd": "0.00125",
        "unknown": 0,
        "per_request_usd": "0.000625",
        "per_1k_usd": "0.625",
        "per_pass_usd": "0.00125",
        "parts_usd": None,  # these hand-made rows name no answering model to price parts by
    }
    assert candidate["failures"] == {"timeout": 1}
    assert candidate["quality"]["graders"] == [
        {"grader": "exact", "mean": 1.0, "graded": 1, "errors": 0}
    ]
    assert candidate["tokens"]["per_request"]["input"] == 10.0
    assert candidate["throughput"]["ceiling_rpm"] is None  # mini: no tier-1 limits known
    assert value["pass_marks"] == {"default": 1.0, "agreement": 0.8}
    assert "emulated" in " ".join(value["notes"])


def test_summary_md_is_a_table_per_cell_with_the_notes(tmp_path: Path) -> None:
    _run(tmp_path, expect=True)
    write_summary(RunDir(tmp_path))
    text = (tmp_path / SUMMARY_MD).read_text()
    assert text.startswith("# Replay run_test\n")
    rows = [x for x in text.splitlines() if x.startswith("| gpt-")]
    assert rows[0].startswith("| gpt-5.2@none (baseline) | 2/2 | 1.00 (exact) | 1/1 | $10.00 |")
    assert rows[1].startswith("| gpt-5.4-mini@low | 2/2 | 1.00 (exact) | 1/1 | $0.625 | $0.00125 |")
    assert "1 (timeout 1)" in rows[1]
    assert "**Emulated skills, not real models' quality.**" in text
    assert "not correctness" not in text
    assert "## Notes" in text


def test_agreement_and_a_real_upstream_are_said_as_such(tmp_path: Path) -> None:
    _run(tmp_path, expect=False, upstream="openai")
    summary = write_summary(RunDir(tmp_path))
    text = (tmp_path / SUMMARY_MD).read_text()
    assert "**Quality is agreement with the baseline, not correctness.**" in text
    assert "Emulated skills" not in text
    value = orjson.loads((tmp_path / SUMMARY_JSON).read_bytes())
    assert (value["quality_kind"], value["emulated"]) == ("agreement", False)
    assert summary.quality_kind == "agreement"


def test_a_rebuild_replaces_the_files_whole(tmp_path: Path) -> None:
    _run(tmp_path, expect=True)
    (tmp_path / SUMMARY_JSON).write_text("stale")
    write_summary(RunDir(tmp_path))
    assert orjson.loads((tmp_path / SUMMARY_JSON).read_bytes())["completed"] == 4
    assert sorted(p.name for p in tmp_path.glob("*.partial")) == []
