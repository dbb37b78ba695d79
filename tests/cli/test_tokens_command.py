"""`laneway tokens FILE|-`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.cli.conftest import Run, assert_one_line_error


def test_counts_a_file(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text("hello world", encoding="utf-8")
    result = run("tokens", str(path))
    assert (result.code, result.out, result.err) == (0, "2\n", "")


def test_counts_standard_input(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"The quick brown fox jumps over the lazy dog."))
    monkeypatch.setattr("sys.stdin", stdin)
    assert run("tokens", "-").out == "10\n"


def test_several_files_get_a_line_each_and_a_total(run: Run, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("hello world", encoding="utf-8")
    b.write_text("The quick brown fox jumps over the lazy dog.", encoding="utf-8")
    lines = run("tokens", str(a), str(b)).out.splitlines()
    assert lines == [f" 2 {a}", f"10 {b}", "12 total"]


def test_errors(run: Run, tmp_path: Path) -> None:
    assert_one_line_error(run("tokens", str(tmp_path / "nope.txt")), "cannot read", "nope.txt")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"ok\xff\xfe")
    assert_one_line_error(run("tokens", str(binary)), "is not UTF-8 text", "offset 2")
    assert_one_line_error(run("tokens"), "Missing argument")
