"""A run directory with a known report, for the report's tests: 40 lines graded `exact` "4",
a gpt-5.2 baseline passing q0..q31, and candidates whose losses are written down.

    MINI (gpt-5.4-mini@low, $0.001 a call): the baseline's passes, but q3 timed out and q7 was
        answered wrongly, in markup; q35 won
    MINI_NONE (gpt-5.4-mini@none, $0.0008): the baseline's passes less q0..q9
    UNPRICED (gpt-5.4@none, cost unknown): the baseline's passes

q5's input is LONG (3,000 characters); latencies are 100 + n ms for line n.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from laneway.replay.experiment import Cell
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir
from tests.replay.built_runs import build_run, row
from tests.replay.built_runs import line as workload_line
from tests.replay.decided_runs import MISS, PASS

LINES = 40
BASELINE = Cell("gpt-5.2", "none", True)
MINI = Cell("gpt-5.4-mini", "low")
MINI_NONE = Cell("gpt-5.4-mini", "none")
UNPRICED = Cell("gpt-5.4", "none")
CELLS = (BASELINE, MINI, MINI_NONE, UNPRICED)
WRONG = "5 <b>bold</b> | `tick`"
LONG = 3_000


def lines() -> list[dict[str, Any]]:
    found = []
    for n in range(LINES):
        line = workload_line(f"q{n}", {"exact": "4"})
        if n == 5:
            line["body"]["input"] = "x" * LONG
        found.append(line)
    return found


def _graded(cell: Cell, n: int, passed: bool, cost: str | None) -> ResultRow:
    return row(cell, f"q{n}", text="4" if passed else "5", grades=[PASS if passed else MISS],
               cost=cost, latency_ms=100.0 + n)  # fmt: skip


def _mini(n: int) -> ResultRow:
    if n == 3:
        return row(MINI, "q3", "error", cost="0", error_kind="timeout", latency_ms=None)
    if n == 7:
        return row(MINI, "q7", text=WRONG, grades=[MISS], cost="0.001", latency_ms=107.0)
    return _graded(MINI, n, n < 32 or n == 35, "0.001")


def reported_run(path: Path) -> RunDir:
    rows = [_graded(BASELINE, n, n < 32, "0.004") for n in range(LINES)]
    rows += [_mini(n) for n in range(LINES)]
    rows += [_graded(MINI_NONE, n, 10 <= n < 32, "0.0008") for n in range(LINES)]
    rows += [_graded(UNPRICED, n, n < 32, None) for n in range(LINES)]
    return build_run(path, lines(), rows, cells=CELLS)
