"""The replay progress display: plain lines off a terminal (never one per row), a live one on."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from laneway.cli.replay_progress import LiveProgress, PlainProgress, ProgressTally, duration
from laneway.replay.plan import CellPlan, RunPlan
from laneway.replay.run_dir import RunDir
from laneway.replay.runner import RunOutcome
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, line, row


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _plan(calls: int = 50, cap: str | None = "2.00") -> RunPlan:
    cells = (
        CellPlan(BASELINE, calls, Decimal(1), Decimal("0.5")),
        CellPlan(CANDIDATE, calls, Decimal(1), Decimal("0.5")),
    )
    worst, expected = Decimal(2), Decimal(1)
    return RunPlan(cells, (), 2 * calls, worst, expected, None if cap is None else Decimal(cap))


def _outcome(run: RunDir, stopped: str | None) -> RunOutcome:
    return RunOutcome(
        run_dir=run.path,
        manifest=run.manifest(),
        completed=100,
        made_now=100,
        resumed_from=0,
        repeated=0,
        stopped=stopped,
        spent_usd=Decimal("0.1"),
        unknown_costs=0,
        elapsed_s=20.0,
    )


def test_plain_lines_come_at_most_every_few_seconds(tmp_path: Path) -> None:
    run = build_run(tmp_path, [line(f"q{n}") for n in range(50)], [])
    clock, stream = Clock(), io.StringIO()
    progress = PlainProgress(stream, tmp_path, clock, every_s=10.0)
    progress.run_started(run.manifest(), _plan(), 0, Decimal(0))
    for n in range(40):  # 40 rows within 4 seconds: no line for them
        clock.now += 0.1
        progress.row_done(row(BASELINE, f"q{n}", cost="0.001"))
    assert stream.getvalue().splitlines() == ["replay: run_test: 100 calls"]
    clock.now = 110.0  # 10 s after the start
    progress.row_done(row(CANDIDATE, "q0", "error", cost="0", error_kind="timeout"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    # 41 of 100 in 10 s: 59 left at that pace is 14 s.
    assert lines[1] == (
        "replay: 41/100 calls (gpt-5.2@none 40/50, gpt-5.4-mini@low 1/50); "
        "spent $0.04 of $2.00 cap; 1 error(s); ETA 14s"
    )
    progress.run_ended(_outcome(run, "spend cap reached: $2.00"))
    assert stream.getvalue().splitlines()[-1].endswith("; stopped: spend cap reached: $2.00")


def test_a_resumed_run_counts_the_rows_already_on_disk(tmp_path: Path) -> None:
    rows = [row(BASELINE, "q1"), row(BASELINE, "q2"), row(CANDIDATE, "q1")]
    run = build_run(tmp_path, [line("q1"), line("q2")], rows)
    clock, stream = Clock(), io.StringIO()
    progress = PlainProgress(stream, tmp_path, clock)
    progress.run_started(run.manifest(), _plan(calls=2, cap=None), 3, Decimal("0.5"))
    assert stream.getvalue() == "replay: run_test: 4 calls, resuming after 3\n"
    tally = progress.tally
    assert (tally.done[BASELINE.label], tally.done[CANDIDATE.label]) == (2, 1)
    assert tally.eta_s() is None  # nothing made by this invocation yet: no pace to go by
    clock.now += 4.0
    progress.row_done(row(CANDIDATE, "q2", cost=None))  # answered, cost unknown
    assert tally.eta_s() == 0.0
    assert tally.spend() == "$0.50 (+1 unknown)"


def test_the_eta_is_the_rest_at_this_invocations_pace() -> None:
    clock = Clock()
    tally = ProgressTally(clock)
    tally.totals = {"a": 40}
    tally.started = clock.now
    for _ in range(10):
        tally.add(row(BASELINE, "q"))
    clock.now += 20.0
    assert tally.eta_s() == 60.0  # 30 left at 2 s each
    assert [duration(s) for s in (0.4, 59.6, 61, 3725)] == ["0s", "1m00s", "1m01s", "1h02m"]


def test_on_a_terminal_each_cell_has_a_bar_and_the_run_its_spend(tmp_path: Path) -> None:
    run = build_run(tmp_path, [line("q1")], [])
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    progress = LiveProgress(console, tmp_path, Clock())
    progress.run_started(run.manifest(), _plan(), 0, Decimal(0))
    progress.row_done(row(BASELINE, "q1", cost="0.25"))
    progress.run_ended(_outcome(run, None))
    text = out.getvalue()
    for fragment in ("gpt-5.2@none", "gpt-5.4-mini@low", "1/50", "spent $0.25 of $2.00 cap"):
        assert fragment in text, fragment
