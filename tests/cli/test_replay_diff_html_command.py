"""`laneway replay diff --html OUT`: the page written beside the text, Markdown or JSON output,
which stays as it was (JSON alone on stdout)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run
from tests.replay.diffed_runs import run_a, run_b


def test_html_is_written_beside_the_text(run: Run, tmp_path: Path) -> None:
    a, b = run_a(tmp_path / "a"), run_b(tmp_path / "b")
    out = tmp_path / "diff.html"
    result = run("replay", "diff", str(a.path), str(b.path), "--html", str(out))
    assert result.code == 0, result.err
    assert "Regressions: passed in A, failed in B:" in result.out
    assert result.out.rstrip().endswith(f"written: {out}")
    assert out.read_text().startswith("<!doctype html>")


def test_with_json_stdout_stays_json(run: Run, tmp_path: Path) -> None:
    a, b = run_a(tmp_path / "a"), run_b(tmp_path / "b")
    out = tmp_path / "diff.html"
    result = run("replay", "diff", str(a.path), str(b.path), "--json", "--html", str(out))
    assert result.code == 0, result.err
    assert json.loads(result.out)["lines"] == 10
    assert result.err == f"written: {out}\n"
    assert out.exists()
