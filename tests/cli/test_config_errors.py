"""A config file with several mistakes: one `laneway: error:` line for each."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Run


def test_several_problems_are_one_line_each(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "laneway.toml"
    path.write_text('[server]\nport = "x"\ncolour = 1\n[keys]\nrefresh_s = 0\n', encoding="utf-8")
    result = run("usage", "--config", str(path))
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [
        f"laneway: error: {path}: [server] port: must be a whole number, got 'x'",
        f"laneway: error: {path}: unknown key 'colour' in [server]",
        f"laneway: error: {path}: [keys] refresh_s: must be more than 0, got 0",
    ]
