"""`laneway replay diff --html`: the diff of two runs with a known diff (tests.replay.diffed_runs)
as a page, the same strings as the text diff, answers escaped and whole."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from laneway.replay.diff import RunDiff, diff_runs
from laneway.replay.diff_text import diff_text
from laneway.replay.report.diff_html import diff_html, row
from tests.replay.built_runs import CANDIDATE
from tests.replay.diffed_runs import LONG_ANSWER, MARKUP_ANSWER, run_a, run_b


def _diff(tmp_path: Path) -> RunDiff:
    return diff_runs(run_a(tmp_path / "a"), run_b(tmp_path / "b"), np.random.default_rng(0))


def test_the_page_shows_the_text_diffs_figures_and_both_answers_whole(tmp_path: Path) -> None:
    found = _diff(tmp_path)
    page = diff_html(found)
    shown = html.unescape(page)
    text = diff_text(found)
    for cell in found.cells:
        for value in row(cell):
            assert value in shown, value
            assert value in text, value  # the text diff's strings, not another rounding
    assert LONG_ANSWER in shown  # whole, not cut as in the text
    assert html.escape(MARKUP_ANSWER, quote=False) in page
    assert "<script>" not in page
    assert "failed (timeout)" in shown
    section = page[page.index('<section id="regressions">') : page.index('id="recoveries"')]
    assert re.findall(r'<span class="id">([^<]*)</span>', section) == ["q4", "q5"]
    assert 'class="chart"' in page
    assert f"{CANDIDATE.label}: " in shown  # the chart's tooltip for the candidate


def test_flips_past_the_limit_are_counted(tmp_path: Path) -> None:
    shown = html.unescape(diff_html(_diff(tmp_path), 1))
    assert f"{CANDIDATE.label}: 1 more (--json lists every one)" in shown
    assert f"{CANDIDATE.label}: 2 more (--json lists every one)" in shown  # of 3 recoveries
