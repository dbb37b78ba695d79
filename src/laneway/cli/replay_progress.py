"""`laneway replay`'s progress: per cell done/total, spend against the cap, errors and an ETA.

On a terminal a rich progress display (a bar per cell, one line for the run); elsewhere plain
lines, at the start, then at most one every `every_s` seconds by the injected clock (never one
per row: a run may have 40,000), and at the end. Both implement the runner's RunEvents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from laneway.replay.costs import cost_unknown
from laneway.replay.plan import RunPlan
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir, RunManifest
from laneway.replay.runner import RunOutcome
from laneway.replay.summary_text import money

Clock = Callable[[], float]


@dataclass(slots=True)
class ProgressTally:
    """What both displays show, kept from the runner's events."""

    clock: Clock
    totals: dict[str, int] = field(default_factory=dict)  # by cell label
    done: Counter[str] = field(default_factory=Counter)
    cap_usd: Decimal | None = None
    spent_usd: Decimal = Decimal(0)
    unknown_costs: int = 0
    errors: int = 0
    done_before: int = 0  # rows on disk when this invocation began
    started: float = 0.0

    def begin(self, plan: RunPlan, on_disk: Counter[str], spent_usd: Decimal) -> None:
        self.totals = {p.cell.label: p.calls for p in plan.cells}
        self.done = Counter(on_disk)
        self.done_before = sum(on_disk.values())
        self.cap_usd, self.spent_usd = plan.spend_cap_usd, spent_usd
        self.started = self.clock()

    def add(self, row: ResultRow) -> None:
        self.done[row.cell] += 1
        self.errors += row.status != "ok"
        if row.cost_usd is not None:
            self.spent_usd += row.cost_usd
        elif cost_unknown(row):
            self.unknown_costs += 1

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def completed(self) -> int:
        return sum(self.done.values())

    def eta_s(self) -> float | None:
        """Seconds left at this invocation's pace so far; None before its first row."""
        made = self.completed - self.done_before
        if made <= 0:
            return None
        return (self.total - self.completed) * (self.clock() - self.started) / made

    def spend(self) -> str:
        text = money(self.spent_usd)
        if self.unknown_costs:
            text += f" (+{self.unknown_costs} unknown)"
        return text + (f" of {money(self.cap_usd)} cap" if self.cap_usd is not None else "")

    def line(self) -> str:
        cells = ", ".join(f"{label} {self.done[label]}/{n}" for label, n in self.totals.items())
        eta = self.eta_s()
        return (
            f"{self.completed}/{self.total} calls ({cells}); spent {self.spend()}; "
            f"{self.errors} error(s); ETA {'-' if eta is None else duration(eta)}"
        )


def duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _on_disk(run_dir: Path) -> Counter[str]:
    return Counter(row.cell for row in RunDir(run_dir).rows()) if run_dir.exists() else Counter()


class PlainProgress:
    """Progress as plain lines on `stream`: for logs and pipes."""

    def __init__(self, stream: TextIO, run_dir: Path, clock: Clock, every_s: float = 10.0):
        self._stream = stream
        self._run_dir = run_dir
        self._every_s = every_s
        self._last = 0.0
        self.tally = ProgressTally(clock)

    def run_started(
        self, manifest: RunManifest, plan: RunPlan, done: int, spent_usd: Decimal
    ) -> None:
        self.tally.begin(plan, _on_disk(self._run_dir), spent_usd)
        resumed = f", resuming after {done}" if done else ""
        self._write(f"{manifest.run_id}: {self.tally.total} calls{resumed}")
        self._last = self.tally.started

    def row_done(self, row: ResultRow) -> None:
        self.tally.add(row)
        now = self.tally.clock()
        if now - self._last >= self._every_s:
            self._last = now
            self._write(self.tally.line())

    def run_ended(self, outcome: RunOutcome) -> None:
        ended = "done" if outcome.stopped is None else f"stopped: {outcome.stopped}"
        self._write(f"{self.tally.line()}; {ended}")

    def _write(self, text: str) -> None:
        self._stream.write(f"replay: {text}\n")
        self._stream.flush()


class LiveProgress:
    """Progress on a terminal: a bar per cell under one line for the whole run."""

    def __init__(self, console: Console, run_dir: Path, clock: Clock):
        self._run_dir = run_dir
        self.tally = ProgressTally(clock)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._run_task: TaskID | None = None

    def run_started(
        self, manifest: RunManifest, plan: RunPlan, done: int, spent_usd: Decimal
    ) -> None:
        self.tally.begin(plan, _on_disk(self._run_dir), spent_usd)
        self._run_task = self._progress.add_task(
            f"replay {manifest.run_id}", total=self.tally.total, completed=done, status=""
        )
        for label, total in self.tally.totals.items():
            self._tasks[label] = self._progress.add_task(
                f"  {label}", total=total, completed=self.tally.done[label], status=""
            )
        self._progress.start()
        self._refresh()

    def row_done(self, row: ResultRow) -> None:
        self.tally.add(row)
        task = self._tasks.get(row.cell)
        if task is not None:
            self._progress.update(task, completed=self.tally.done[row.cell])
        self._refresh()

    def run_ended(self, outcome: RunOutcome) -> None:
        self._refresh()
        self._progress.stop()

    def _refresh(self) -> None:
        if self._run_task is None:
            return
        eta = self.tally.eta_s()
        status = (
            f"spent {self.tally.spend()}  errors {self.tally.errors}  "
            f"ETA {'-' if eta is None else duration(eta)}"
        )
        self._progress.update(self._run_task, completed=self.tally.completed, status=status)
