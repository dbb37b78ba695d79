"""The replay report in a real browser (Debian's Chromium, tests/browser/conftest.py): the demo
run's page loads with no problem (no console error, no request leaving the file), every chart
has drawn, and its recommendation is report.json's word for word; a workload full of markup and
script runs nothing of its own and shows literally, with the page's CSP and without it; a large
run's page opens with every chart drawn from sampled points; and the run-vs-run diff's page.

Runs are made by the command line in a child process before any page is opened (Playwright's
sync API holds the test thread's event loop while open: tests/browser/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pytest
from bench.bench_report import build

from laneway.replay.diff import diff_runs
from laneway.replay.report.build import build_report
from laneway.replay.report.diff_html import diff_html
from laneway.replay.report.files import write_report
from tests.browser.conftest import Loaded
from tests.replay.diffed_runs import MARKUP_ANSWER, run_a, run_b

MARKUP = (
    "<script>window.__pwned = 'id'</script>",
    '"><img src=x onerror="window.__pwned = \'attribute\'">',
    "</textarea></pre><script>window.__pwned = 'prompt'</script>"
    "{{ 'tmpl' ~ 'evaluated' }} <!-- ]]> ${x}",
    "<script>window.__pwned = 'expected'</script>",
    "<svg onload=\"window.__pwned = 'answer'\"></svg>",
    "<script>window.__pwned = 'grader'</script>",
)
# A grader sees each line's body as written, never the cell: it passes the first answer to a
# line and fails the rest, so with one call at a time (the baseline's first) every candidate's
# every line is a regression, shown with both answers.
GRADER = f"""
seen = set()


def hostile(request, answer, expected):
    key = str(request)
    first = key not in seen
    seen.add(key)
    return (1.0 if first else 0.0, {MARKUP[5]!r})
"""
CHARTS_DRAWN = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return box.width > 0 && box.height > 0
        && svg.querySelectorAll('circle, rect, polyline, line').length > 0;
})"""


def _replay(tmp_path: Path, *args: str) -> None:
    """`laneway replay ARGS` in a child process, offline on the run's own emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANEWAY_"))}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "laneway.cli.main", "replay", *args],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    _replay(folder, "--demo", "--run-dir", str(folder / "run"))
    return folder / "run"


def test_the_demo_report_loads_draws_and_says_what_the_json_says(
    demo_run: Path, open_page: Callable[[Path], Loaded]
) -> None:
    value = json.loads((demo_run / "report.json").read_bytes())
    loaded = open_page(demo_run / "report.html")
    page = loaded.page
    assert loaded.problems == []
    drawn = page.evaluate(CHARTS_DRAWN)
    assert drawn == [True, True, True, True]  # cost/quality, latency, two effort charts
    assert page.inner_text("#recommendation-text") == value["recommendation"]["paragraph"]
    assert page.locator("#emulated").is_visible()
    assert page.locator("svg.chart").first.locator("g.point").count() == len(value["cells"])
    assert page.locator(".regression").count() >= 10
    assert page.evaluate("document.scripts.length") == 0


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "hostile_grader.py").write_text(GRADER, encoding="utf-8")
    schema = {"type": "object", "properties": {"html": {"const": MARKUP[4]}},
              "required": ["html"], "additionalProperties": False}  # fmt: skip
    lines = [
        {"custom_id": MARKUP[0], "method": "POST", "url": "/v1/responses",
         "body": {"model": "gpt-5.2", "input": MARKUP[2], "metadata": {"note": MARKUP[0]},
                  "text": {"format": {"type": "json_schema", "name": "page", "schema": schema}}},
         "expect": {"contains": MARKUP[3]}},
        {"custom_id": MARKUP[1], "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-5.2", "messages": [
             {"role": "system", "content": MARKUP[1]}, {"role": "user", "content": MARKUP[2]}]},
         "expect": {"contains": MARKUP[3]}},
    ]  # fmt: skip
    workload = folder / "<img src=x onerror=alert(1)>.jsonl"
    workload.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    _replay(folder, str(workload), "--models", "gpt-5.4-mini", "--efforts", "none",
            "--grader", "hostile_grader:hostile", "--concurrency", "1",
            "--run-dir", str(folder / "run"))  # fmt: skip
    return folder / "run"


@pytest.mark.parametrize("policy", ["kept", "removed"])
def test_a_workload_full_of_markup_runs_nothing_and_shows_literally(
    hostile_run: Path, open_page: Callable[[Path], Loaded], policy: str, tmp_path: Path
) -> None:
    page_file = hostile_run / "report.html"
    if policy == "removed":  # escaping alone must hold, without the policy's backstop
        text = page_file.read_text(encoding="utf-8")
        start = text.index('<meta http-equiv="Content-Security-Policy"')
        page_file = tmp_path / "report.html"
        page_file.write_text(text[:start] + text[text.index(">", start) + 1 :], encoding="utf-8")
    loaded = open_page(page_file)
    page = loaded.page
    assert loaded.problems == []
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('script, img, iframe, textarea').length") == 0
    assert page.evaluate("document.querySelectorAll('svg:not(.chart)').length") == 0
    shown = page.inner_text("body")
    for text in (MARKUP[0], MARKUP[1], "{{ 'tmpl' ~ 'evaluated' }}", MARKUP[3],
                 "window.__pwned = 'answer'"):  # fmt: skip
        assert text in shown, text
    assert "tmplevaluated" not in shown  # the template expression was never evaluated
    assert "<img src=x onerror=alert(1)>.jsonl" in page.inner_text("#experiment")


def test_a_large_reports_charts_draw_from_sampled_points(
    tmp_path: Path, open_page: Callable[[Path], Loaded]
) -> None:
    run = build(tmp_path, 2_500, seed=3)
    files = write_report(build_report(run, shown=3), tmp_path)
    loaded = open_page(files.html)
    page = loaded.page
    assert loaded.problems == []
    assert page.evaluate(CHARTS_DRAWN) == [True, True, True, True]
    points = page.evaluate(
        "[...document.querySelectorAll('#latency polyline')].map(p => p.points.numberOfItems)"
    )
    assert points == [2_000] * 4  # 2,475 or so answered calls per cell, sampled
    assert page.locator(".regression").count() == 3


def test_the_diff_page_loads_and_draws(tmp_path: Path, open_page: Callable[[Path], Loaded]) -> None:
    found = diff_runs(run_a(tmp_path / "a"), run_b(tmp_path / "b"), np.random.default_rng(0))
    page_file = tmp_path / "diff.html"
    page_file.write_text(diff_html(found), encoding="utf-8")
    loaded = open_page(page_file)
    assert loaded.problems == []
    assert loaded.page.evaluate(CHARTS_DRAWN) == [True]
    assert loaded.page.locator("#regressions .regression").count() == 2
    assert MARKUP_ANSWER.splitlines()[0] in loaded.page.inner_text("#regressions")
    assert loaded.page.evaluate("document.scripts.length") == 0
