"""The three outputs over one model (tests.replay.report.reported_runs): the same figures in
report.json, report.md and report.html, user text escaped in each, and the files written whole."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.pricing.money import usd_str
from laneway.replay.diff_text import escape_markdown
from laneway.replay.report import display
from laneway.replay.report.build import build_report
from laneway.replay.report.files import HTML, JSON, MARKDOWN, write_report
from laneway.replay.report.model import Report
from laneway.replay.report.report_html import report_html
from laneway.replay.report.report_json import report_value
from laneway.replay.report.report_markdown import report_markdown
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, row
from tests.replay.built_runs import line as workload_line
from tests.replay.decided_runs import PASS
from tests.replay.report.reported_runs import MINI, UNPRICED, WRONG, reported_run


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return build_report(reported_run(tmp_path_factory.mktemp("report") / "run"))


def test_json_carries_the_models_figures_exactly(report: Report) -> None:
    value = json.loads(json.dumps(report_value(report)))
    assert value["recommendation"]["paragraph"] == report.paragraph
    assert value["pareto_front"] == list(report.front)
    for shown, cell in zip(value["cells"], report.cells, strict=True):
        cost = cell.summary.cost
        assert shown["label"] == cell.label
        per_1k = shown["summary"]["cost"]["per_1k_usd"]
        assert per_1k == (None if cost.per_1k_usd is None else usd_str(cost.per_1k_usd))
        assert shown["summary"]["quality"]["mean"] == cell.summary.quality.mean
        quality = cell.stats.quality
        assert quality is not None
        assert shown["intervals"]["quality"]["lower"] == quality.lower
        assert shown["summary"]["latency"]["p95_ms"] == cell.summary.latency.p95_ms
    assert Decimal(value["spend"]["spent_usd"]) == report.spend.spent_usd
    unpriced = value["cells"][3]
    assert unpriced["label"] == UNPRICED.label
    assert unpriced["summary"]["cost"]["per_1k_usd"] is None  # unknown, never 0
    mini = value["regressions"][0]["shown"][1]
    assert mini["candidate"]["answer"] == WRONG  # whole, as answered


def test_markdown_and_html_show_the_same_strings(report: Report) -> None:
    md, page = report_markdown(report), html.unescape(report_html(report))
    for cell in report.cells:
        for shown in display.cell_row(cell):
            assert escape_markdown(shown) in md, shown
            assert shown in page, shown
    for spread in report.latencies:
        for shown in display.latency_row(spread):
            assert escape_markdown(shown) in md, shown
            assert shown in page, shown
    assert escape_markdown(report.paragraph) in md
    found = re.search(r'<p id="recommendation-text">(.*?)</p>', report_html(report), re.S)
    assert found is not None
    assert html.unescape(found.group(1)) == report.paragraph


def test_user_text_is_escaped_in_markdown_and_html(report: Report) -> None:
    md, page = report_markdown(report), report_html(report)
    assert "<b>bold</b>" not in page
    assert html.escape(WRONG, quote=False) in page
    assert f"```text\n{WRONG}\n```" in md  # fenced: shown as written
    assert "<script" not in page


def test_the_page_forbids_scripts_and_requests(report: Report) -> None:
    page = report_html(report)
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
    ) in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert page.count('<svg class="chart"') == 4  # cost/quality, latency, two effort charts


def test_a_cell_of_unknown_cost_is_named_off_the_chart(report: Report) -> None:
    page = report_html(report)
    assert f"{UNPRICED.label} (cost unknown)" in page
    chart = page[page.index('<section id="cost-quality">') : page.index('<section id="cells">')]
    titles = re.findall(r"<title>([^<]*)</title>", chart)
    assert any(t.startswith(MINI.label + ":") for t in titles)
    assert not any(t.startswith(UNPRICED.label) for t in titles)  # never placed at $0


def test_the_files_are_written_whole(report: Report, tmp_path: Path) -> None:
    files = write_report(report, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([HTML, MARKDOWN, JSON])
    assert json.loads(files.json.read_bytes())["version"] == 1
    assert files.markdown.read_text().startswith("# Replay report run\\_test")


def test_a_run_stopped_short_still_reports_and_says_why_a_cell_is_missing(tmp_path: Path) -> None:
    lines = [workload_line(f"q{n}", {"exact": "4"}) for n in range(5)]
    rows = [row(BASELINE, f"q{n}", text="4", grades=[PASS]) for n in range(3)]
    report = build_report(build_run(tmp_path / "run", lines, rows))
    page = html.unescape(report_html(report))
    assert f"{CANDIDATE.label} (no calls made yet)" in page
    assert report.regressions[0].compared == 0
    assert report_value(report)["cells"][1]["summary"]["calls"] == 0
