"""`laneway replay diff` through the command line: the text, Markdown and JSON of two runs with
a known diff (tests.replay.diffed_runs), and the refusals as one line and exit 2."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.cli.conftest import Run, assert_one_line_error
from tests.replay.built_runs import CANDIDATE
from tests.replay.diffed_runs import LONG_ANSWER, MARKUP_ANSWER, ONLY_A, ONLY_B, lines, run_a, run_b


def _runs(tmp_path: Path, expect: str = "4") -> tuple[str, str]:
    a, b = run_a(tmp_path / "a"), run_b(tmp_path / "b", lines(expect))
    return str(a.path), str(b.path)


def test_the_text_diff(run: Run, tmp_path: Path) -> None:
    result = run("replay", "diff", *_runs(tmp_path))
    assert result.code == 0, result.err
    assert "Regressions: passed in A, failed in B:" in result.out
    assert f"only in B (not compared): {ONLY_B.label}" in result.out


def test_the_json_diff_carries_every_figure_and_whole_answers(run: Run, tmp_path: Path) -> None:
    result = run("replay", "diff", *_runs(tmp_path), "--json")
    assert result.code == 0, result.err
    value = json.loads(result.out)
    assert (value["only_in_a"], value["only_in_b"]) == ([ONLY_A.label], [ONLY_B.label])
    cell = value["cells"][1]
    assert cell["label"] == CANDIDATE.label
    assert cell["a"]["cost_per_request_usd"] == "0.001"
    assert Decimal(cell["cost_per_request_change_usd"]) == Decimal("-0.00028")
    assert cell["quality_change"]["method"] == "tango"
    assert cell["quality_change"]["estimate"] == 2 / 9
    assert [flip["custom_id"] for flip in cell["regressions"]] == ["q4", "q5"]
    assert cell["regressions"][0]["b"]["text"] == MARKUP_ANSWER
    assert cell["regressions"][1]["b"]["failure"] == "timeout"
    assert cell["recoveries"][2]["a"]["text"] == LONG_ANSWER


def test_the_same_seed_gives_the_same_figures(run: Run, tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    first = run("replay", "diff", *runs, "--json", "--seed", "3")
    assert first.out == run("replay", "diff", *runs, "--json", "--seed", "3").out


def test_the_markdown_diff(run: Run, tmp_path: Path) -> None:
    result = run("replay", "diff", *_runs(tmp_path), "--markdown")
    assert result.code == 0, result.err
    assert result.out.startswith("# Replay diff: ")
    assert "## Recoveries: failed in A, passed in B" in result.out
    assert "<script>" not in result.out


def test_runs_of_different_workloads_are_refused(run: Run, tmp_path: Path) -> None:
    result = run("replay", "diff", *_runs(tmp_path, expect="5"))
    assert_one_line_error(result, "different workloads")


def test_one_format_at_a_time(run: Run, tmp_path: Path) -> None:
    result = run("replay", "diff", *_runs(tmp_path), "--json", "--markdown")
    assert_one_line_error(result, "choose one")


def test_a_directory_that_is_no_run_is_refused(run: Run, tmp_path: Path) -> None:
    a, _ = _runs(tmp_path)
    result = run("replay", "diff", a, str(tmp_path))
    assert_one_line_error(result, "not a run directory")
