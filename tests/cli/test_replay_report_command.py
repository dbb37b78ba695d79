"""`laneway replay report` and the report every run writes: the three files from a run, rebuilt
the same from the directory alone, --out, and a directory that is no run as one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Run, assert_one_line_error
from tests.replay.report.reported_runs import reported_run
from tests.replay.runs import line

FILES = ("report.html", "report.md", "report.json")


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LANEWAY_CONFIG", raising=False)


def test_a_run_writes_its_report_and_report_rebuilds_it_the_same(run: Run, tmp_path: Path) -> None:
    workload = tmp_path / "work.jsonl"
    graded = (line(f"q{n}")[:-2] + b', "expect": {"contains": "a"}}\n' for n in range(6))
    workload.write_bytes(b"".join(graded))
    run_dir = tmp_path / "run"
    made = run("replay", str(workload), "--models", "gpt-5.4-mini", "--efforts", "none,low",
               "--run-dir", str(run_dir))  # fmt: skip
    assert made.code == 0, made.err
    assert f"report: {run_dir}/report.html (and report.md, report.json)" in made.out
    assert json.loads((run_dir / "report.json").read_bytes())["run"]["quality_kind"] == (
        "expectations"
    )
    first = {name: (run_dir / name).read_bytes() for name in FILES}

    for name in FILES:
        (run_dir / name).unlink()
    again = run("replay", "report", str(run_dir))
    assert again.code == 0, again.err
    value = json.loads((run_dir / "report.json").read_bytes())
    assert again.out.splitlines()[0] == value["recommendation"]["paragraph"]
    assert {name: (run_dir / name).read_bytes() for name in FILES} == first  # the same seed

    elsewhere = run("replay", "report", str(run_dir), "--out", str(tmp_path / "out"),
                    "--seed", "3", "--margin", "5", "--regressions", "1")  # fmt: skip
    assert elsewhere.code == 0, elsewhere.err
    other = json.loads((tmp_path / "out" / "report.json").read_bytes())
    assert (other["seed"], other["recommendation"]["margin"]) == (3, 0.05)
    assert all(len(found["shown"]) <= 1 for found in other["regressions"])


def test_a_json_run_prints_only_json_and_still_writes_the_report(run: Run, tmp_path: Path) -> None:
    workload = tmp_path / "work.jsonl"
    workload.write_bytes(line("a1") + line("a2", chat=True))
    made = run("replay", str(workload), "--models", "gpt-5.4-mini", "--json", "--run-dir",
               str(tmp_path / "run"))  # fmt: skip
    assert made.code == 0, made.err
    assert json.loads(made.out)["quality_kind"] == "agreement"
    page = (tmp_path / "run" / "report.html").read_text()
    assert "agreement with the baseline, not correctness" in page


def test_report_of_a_hand_built_run(run: Run, tmp_path: Path) -> None:
    built = reported_run(tmp_path / "built")
    result = run("replay", "report", str(built.path))
    assert result.code == 0, result.err
    assert result.out.startswith("Keep this workload on gpt-5.2: ")
    assert (
        "gpt-5.4-mini@low: 2 of 40 line(s) scored below the baseline"
        in (built.path / "report.md").read_text()
    )


def test_a_directory_that_is_no_run_is_one_line(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run("replay", "report", str(tmp_path / "empty")), "not a run directory")
    assert_one_line_error(run("replay", "report", str(tmp_path / "missing")), "does not exist")
