"""Run directories with a known truth for the recommendation's tests: 600 pass/fail lines, a
gpt-5.2 baseline passing 80% of them, and candidates whose pass patterns and costs are written
down, so each verdict and saving is known before the statistics run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from laneway.replay.experiment import Cell
from laneway.replay.graders import Grade
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir
from tests.replay.built_runs import build_run, row
from tests.replay.built_runs import line as workload_line

LINES = 600
BASELINE = Cell("gpt-5.2", "none", True)
MINI = Cell("gpt-5.4-mini", "low")  # the baseline's passes, 6 lines won and 6 lost: no worse
FLAGSHIP = Cell("gpt-5.4", "low")  # as MINI, dearer than it: no worse, not the cheapest
NANO = Cell("gpt-5.4-nano", "none")  # fails 150 of the baseline's passes: worse
UNPRICED = Cell("gpt-5.4", "none")  # as MINI, but its cost is unknown
NOISY = Cell("gpt-5.4-mini", "none")  # 60 won, 60 lost: no worse on average, too few lines
AHEAD = Cell("gpt-5.4", "medium")  # 60 more lines passed, none lost: better

COSTS = {
    BASELINE.label: "0.004",
    MINI.label: "0.001",
    FLAGSHIP.label: "0.0015",
    NANO.label: "0.0002",
    UNPRICED.label: None,
    NOISY.label: "0.0008",
    AHEAD.label: "0.002",
}
RECOVERED = 3  # MINI's first lines, answered on a second attempt
PASS = Grade("exact", 1.0, "4", "exactly '4'?")
MISS = Grade("exact", 0.0, "5", "exactly '4'?")


def baseline_passes(n: int) -> bool:
    return n % 5 != 0


def _flipped(wins: int, losses: int) -> Callable[[int], bool]:
    """The baseline's pattern with its first `wins` failures passed and `losses` passes failed."""
    failing = [n for n in range(LINES) if not baseline_passes(n)]
    passing = [n for n in range(LINES) if baseline_passes(n)]
    flip = set(failing[:wins]) | set(passing[:losses])
    return lambda n: baseline_passes(n) != (n in flip)


PATTERNS: dict[str, Callable[[int], bool]] = {
    BASELINE.label: baseline_passes,
    MINI.label: _flipped(6, 6),
    FLAGSHIP.label: _flipped(6, 6),
    UNPRICED.label: _flipped(6, 6),
    NANO.label: _flipped(0, 150),
    NOISY.label: _flipped(60, 60),
    AHEAD.label: _flipped(60, 0),
}


def decided_run(
    path: Path,
    cells: tuple[Cell, ...],
    lane: str | None = "legacy",
    extra: dict[str, object] | None = None,
) -> RunDir:
    lines = [workload_line(f"q{n}", {"exact": "4"}) for n in range(LINES)]
    rows: list[ResultRow] = []
    for n in range(LINES):
        for cell in (BASELINE, *cells):
            passed = PATTERNS[cell.label](n)
            grade = PASS if passed else MISS
            attempts = 2 if cell == MINI and n < RECOVERED else 1  # answered after a retry
            rows.append(
                row(cell, f"q{n}", cost=COSTS[cell.label], grades=[grade], attempts=attempts)
            )
    extra = {**({} if lane is None else {"lane": lane}), **(extra or {})}
    return build_run(path, lines, rows, cells=(BASELINE, *cells), tier="tier-5", extra=extra)
