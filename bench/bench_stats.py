"""Replay's statistics at the issue's size: a synthetic run directory of 10,000 workload lines x
4 cells (40,000 rows, one repeat, partial-credit grades so the bootstraps run rather than their
pass/fail shortcuts), analysed with 2,000 resamples.

    .venv/bin/python -m bench.bench_stats [--lines 10000] [--resamples 2000] [--seed 7]

Target (issue 21): reading the rows and the whole analysis (every cell's quality, cost and
latency intervals; three paired comparisons; Holm) under 20 s on this machine. Reading
(run_samples: results.jsonl parsed and scored as the summary scores it) and analysing are
timed apart.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from bench.synthetic_run import write_run_frame
from laneway.replay.experiment import Cell
from laneway.replay.graders import Grade
from laneway.replay.rows import ResultRow, RowUsage
from laneway.replay.run_dir import RESULTS, RunDir
from laneway.replay.stats.analysis import analyse
from laneway.replay.stats.run_samples import run_samples
from laneway.wire.answers import AnswerView

TARGET_S = 20.0
CELLS = (
    (Cell("gpt-5.2", "none", True), 0.80),
    (Cell("gpt-5.4-mini", "none"), 0.79),
    (Cell("gpt-5.4-mini", "low"), 0.82),
    (Cell("gpt-5.4", "none"), 0.86),
)


def build(path: Path, lines: int, seed: int) -> RunDir:
    rng = np.random.default_rng(seed)
    ids = [f"q{n}" for n in range(lines)]
    write_run_frame(path, [cell for cell, _ in CELLS], ids, lambda i: f"question {i}")
    difficulty = rng.beta(4, 1, lines)
    with (path / RESULTS).open("wb") as file:
        for cell, skill in CELLS:
            scores = np.clip(difficulty * skill / 0.8 + rng.normal(0, 0.1, lines), 0, 1)
            latencies = rng.lognormal(6.5, 0.4, lines)
            for at, custom_id in enumerate(ids):
                score = round(float(scores[at]) * 2) / 2  # json_fields: 0, 0.5 or 1
                file.write(
                    ResultRow(
                        cell.label,
                        custom_id,
                        0,
                        "ok",
                        1000.0,
                        attempts=1,
                        usage=RowUsage(200, 0, 100, 0),
                        cost_usd=Decimal("0.000125") * (1 + at % 3),
                        latency_ms=float(latencies[at]),
                        output=AnswerView("{}"),
                        grades=(Grade("json_fields", score, "{}", "fields"),),
                    ).to_json()
                )
    return RunDir(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run = build(Path(folder), args.lines, args.seed)
        started = time.perf_counter()
        samples = run_samples(run)
        read = time.perf_counter() - started
        found = analyse(samples, np.random.default_rng(args.seed), resamples=args.resamples)
        analysed = time.perf_counter() - started - read
    rows = sum(cell.calls for cell in samples.cells)
    print(f"{rows} rows, {len(samples.cells)} cells, {args.resamples} resamples")
    print(
        f"read and score rows: {read:.2f} s; analyse: {analysed:.2f} s; "
        f"total {read + analysed:.2f} s (target < {TARGET_S:.0f} s)"
    )
    for comparison in found.comparisons:
        print(
            f"  {comparison.label}: {comparison.estimate:+.4f} "
            f"[{comparison.lower:+.4f}, {comparison.upper:+.4f}] at "
            f"{comparison.bound_confidence:.4f} {comparison.method}: {comparison.verdict}"
        )


if __name__ == "__main__":
    main()
