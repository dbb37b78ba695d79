"""Two runs of one ten-line workload with a known diff, for `laneway replay diff`'s tests.

Both runs have the baseline (passing q0..q7 in each: no flip) and the candidate; run A also has
gpt-5.4@none and run B gpt-5.4-nano@none, each in one run only. The candidate passes q0..q5 in
run A; in run B it passes q0..q3 and q6..q8, fails q4 (an answer full of markup) and its call
for q5 timed out: regressions q4 and q5, recoveries q6, q7 and q8 (q8's answer in A is long).
It costs $0.001 a call in A and $0.0008 in B (the timeout $0), answering in 100 ms and 80 ms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from laneway.replay.experiment import Cell
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, row
from tests.replay.built_runs import line as workload_line
from tests.replay.decided_runs import MISS, PASS

ONLY_A = Cell("gpt-5.4", "none")
ONLY_B = Cell("gpt-5.4-nano", "none")
LINES = 10
MARKUP_ANSWER = "5 | <script>alert(1)</script>\n*second* line"
LONG_ANSWER = "x" * 500


def lines(expect: str = "4") -> list[dict[str, Any]]:
    return [workload_line(f"q{n}", {"exact": expect}) for n in range(LINES)]


def _graded(cell: Cell, n: int, passed: bool, **fields: Any) -> ResultRow:
    fields.setdefault("text", "4" if passed else "5")
    return row(cell, f"q{n}", grades=[PASS if passed else MISS], **fields)


def run_a(path: Path, workload: list[dict[str, Any]] | None = None) -> RunDir:
    rows = [_graded(BASELINE, n, n < 8, cost="0.004") for n in range(LINES)]
    rows += [_graded(ONLY_A, n, True, cost="0.002") for n in range(LINES)]
    for n in range(LINES):
        text = LONG_ANSWER if n == 8 else None
        rows.append(_graded(CANDIDATE, n, n < 6, cost="0.001", **({"text": text} if text else {})))
    cells = (BASELINE, CANDIDATE, ONLY_A)
    return build_run(path, workload or lines(), rows, cells=cells)


def run_b(path: Path, workload: list[dict[str, Any]] | None = None) -> RunDir:
    rows = [_graded(BASELINE, n, n < 8, cost="0.004") for n in range(LINES)]
    rows += [_graded(ONLY_B, n, False, cost="0.0001") for n in range(LINES)]
    for n in range(LINES):
        if n == 5:
            rows.append(row(CANDIDATE, "q5", "error", cost="0", error_kind="timeout"))
            continue
        text = MARKUP_ANSWER if n == 4 else ("4" if n in (6, 7, 8) or n < 4 else "5")
        rows.append(_graded(CANDIDATE, n, n < 4 or n in (6, 7, 8), cost="0.0008",
                            latency_ms=80.0, text=text))  # fmt: skip
    cells = (BASELINE, ONLY_B, CANDIDATE)
    return build_run(path, workload or lines(), rows, cells=cells)
