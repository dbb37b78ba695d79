"""The replay report at the issue's size: a synthetic run directory of 10,000 workload lines x
4 cells (40,000 rows: prompts and answers of a few hundred characters, partial-credit grades, a
few failures and retries), its report built (report.html, report.md, report.json) and the page
opened in Debian's Chromium.

    .venv/bin/python -m bench.bench_report [--lines 10000] [--seed 7] [--keep DIR]

Targets (issue 22): the report builds in under 10 s and opens in the browser in under 3 s
(navigation to the load event, and to the first paint of every chart). The build is timed in
its parts: the run's summary, statistics and recommendation (laneway.replay.report.build does
them once each) and the report's own pass over the rows are inside `build_report`.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from bench.synthetic_run import write_run_frame
from laneway.pricing.catalog import SHIPPED_CATALOG
from laneway.replay.experiment import Cell
from laneway.replay.graders import Grade
from laneway.replay.report.build import build_report
from laneway.replay.report.files import write_report
from laneway.replay.rows import ResultRow, RowUsage
from laneway.replay.run_dir import CATALOG, RESULTS, RunDir
from laneway.wire.answers import AnswerView

BUILD_TARGET_S = 10.0
OPEN_TARGET_S = 3.0
CHROMIUM = "/usr/bin/chromium"
CELLS = (
    (Cell("gpt-5.2", "none", True), 0.80, Decimal("0.0021")),
    (Cell("gpt-5.4-mini", "none"), 0.79, Decimal("0.00045")),
    (Cell("gpt-5.4-mini", "low"), 0.82, Decimal("0.0011")),
    (Cell("gpt-5.4", "none"), 0.86, Decimal("0.0019")),
)
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def _text(rng: np.random.Generator, words: int) -> str:
    return " ".join(_WORDS[i] for i in rng.integers(0, len(_WORDS), words))


def _row(
    cell: Cell,
    custom_id: str,
    score: float,
    latency: float,
    cost: Decimal,
    answer: str,
    failed: bool,
) -> ResultRow:
    if failed:
        return ResultRow(
            cell.label,
            custom_id,
            0,
            "error",
            1000.0,
            attempts=3,
            error_kind="server_error",
            error="upstream 500",
        )
    return ResultRow(
        cell.label,
        custom_id,
        0,
        "ok",
        1000.0 + latency / 1000,
        attempts=1 + (score < 0.1),
        model=cell.model,
        usage=RowUsage(220, 0, 90, 0),
        cost_usd=cost,
        latency_ms=latency,
        output=AnswerView(answer),
        grades=(Grade("json_fields", score, answer, "fields"),),
    )


def build(path: Path, lines: int, seed: int) -> RunDir:
    """A finished run directory of `lines` lines x the four CELLS, seeded."""
    rng = np.random.default_rng(seed)
    ids = [f"q{n:05d}" for n in range(lines)]
    write_run_frame(path, [cell for cell, _, _ in CELLS], ids,
                    lambda custom_id: f"{custom_id}: {_text(rng, 50)}")  # fmt: skip
    (path / CATALOG).write_bytes(SHIPPED_CATALOG.read_bytes())
    difficulty = rng.beta(4, 1, lines)
    with (path / RESULTS).open("wb") as file:
        for cell, skill, cost in CELLS:
            scores = np.clip(difficulty * skill / 0.8 + rng.normal(0, 0.1, lines), 0, 1)
            latencies = rng.lognormal(6.5, 0.4, lines)
            failed = rng.random(lines) < 0.01
            for at, custom_id in enumerate(ids):
                score = round(float(scores[at]) * 2) / 2  # json_fields: 0, 0.5 or 1
                answer = f'{{"a": 1, "b": {int(score * 2)}, "note": "{_text(rng, 30)}"}}'
                file.write(
                    _row(
                        cell,
                        custom_id,
                        score,
                        float(latencies[at]),
                        cost * (1 + at % 3),
                        answer,
                        bool(failed[at]),
                    ).to_json()
                )
    return RunDir(path)


def opened(page: Path) -> tuple[float, float, int]:
    """(seconds to the load event, to every chart painted, console errors) in Chromium."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - a dev dependency

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        started = time.perf_counter()
        tab.goto(page.resolve().as_uri(), wait_until="load")
        loaded = time.perf_counter() - started
        tab.wait_for_function(
            "[...document.querySelectorAll('svg.chart')].every("
            "s => s.getBoundingClientRect().height > 0)"
        )
        painted = time.perf_counter() - started
        browser.close()
    return loaded, painted, len(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the run directory here.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        run = build(folder, args.lines, args.seed)
        started = time.perf_counter()
        report = build_report(run)
        built = time.perf_counter() - started
        files = write_report(report, folder)
        written = time.perf_counter() - started - built
        loaded, painted, errors = opened(files.html)
        rows = sum(cell.summary.calls for cell in report.cells)
        print(
            f"{rows} rows, {len(report.cells)} cells; report.html "
            f"{files.html.stat().st_size / 1e6:.2f} MB, report.json "
            f"{files.json.stat().st_size / 1e6:.2f} MB"
        )
        print(
            f"build {built:.2f} s + render and write {written:.2f} s = {built + written:.2f} s "
            f"(target < {BUILD_TARGET_S:.0f} s)"
        )
        print(
            f"Chromium: load event {loaded:.2f} s, every chart painted {painted:.2f} s "
            f"(target < {OPEN_TARGET_S:.0f} s); console errors {errors}"
        )
        if args.keep is not None:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
