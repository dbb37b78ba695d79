"""The replay runs tune-effort's climb asks for, under one spend cap, and a tune directory's
record of how it was started (`tune.json`), so a stopped tuning resumes where it stopped.

Each measurement is a replay run of its own (`runs/<effort>-<start>-<stop>/`). On a resume the
climb is taken again from the start: it is deterministic given the same scores, so it asks for
the same runs in the same order, and a run already complete is read from disk (no call), one cut
short is resumed (laneway.replay.runner.resume), and only the rest are new.

The cap is on the whole tuning: each run is given what the others have not spent, and one that
reaches it stops the tuning (TuneCapError; resumable, with a higher cap if need be).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from laneway.assembly import Upstream
from laneway.config import GatewayConfig
from laneway.errors import LanewayError
from laneway.replay.experiment import CandidatesConfig, CellConfig, ExperimentConfig
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir
from laneway.replay.runner import RunOutcome, RunSettings, resume, run
from laneway.replay.summary_files import write_summary
from laneway.replay.tune_policy import PolicySettings
from laneway.replay.workload import Workload

STATE = "tune.json"
DEFAULT_EFFORTS: Final = ("none", "low", "medium", "high", "xhigh")


class TuneError(LanewayError):
    """The tuning cannot start or go on (an ungraded workload, no effort to try, a run cut
    short)."""


class TuneCapError(TuneError):
    """The spend cap stopped the tuning part-way: resumable (`tune_resume`)."""


@dataclass(frozen=True, slots=True)
class TuneSettings:
    tune_dir: Path  # new or empty
    efforts: tuple[str, ...] = DEFAULT_EFFORTS
    policy: PolicySettings = field(default_factory=PolicySettings)
    repeats: int = 1
    concurrency: int = 8
    key: str = "replay"  # the key the runs' ledger records are charged to
    emulator_seed: int = 0  # the runs' own emulator, when no provider is configured
    spend_cap_usd: Decimal | None = None  # the whole tuning's; None: no cap


def write_state(settings: TuneSettings, model: str) -> None:
    value: dict[str, Any] = {
        "model": model,
        "efforts": list(settings.efforts),
        "policy": asdict(settings.policy),
        "repeats": settings.repeats,
        "concurrency": settings.concurrency,
        "key": settings.key,
        "emulator_seed": settings.emulator_seed,
        "spend_cap_usd": None if settings.spend_cap_usd is None else str(settings.spend_cap_usd),
    }
    (settings.tune_dir / STATE).write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def read_state(tune_dir: Path) -> tuple[str, TuneSettings]:
    """The model and settings a tuning was started with; TuneError when `tune_dir` holds none."""
    try:
        value = json.loads((tune_dir / STATE).read_text(encoding="utf-8"))
        cap = value["spend_cap_usd"]
        settings = TuneSettings(
            tune_dir,
            tuple(value["efforts"]),
            PolicySettings(**value["policy"]),
            int(value["repeats"]),
            int(value["concurrency"]),
            str(value["key"]),
            int(value["emulator_seed"]),
            None if cap is None else Decimal(cap),
        )
        return str(value["model"]), settings
    except FileNotFoundError:
        raise TuneError(f"{tune_dir}: no {STATE}; not a tune directory") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise TuneError(f"{tune_dir}/{STATE}: damaged ({exc})") from None


@dataclass(slots=True)
class TuneRuns:
    """The runs the climb asks for, which directories hold each effort, and what each spent."""

    model: str
    workload: Workload
    settings: TuneSettings
    config: GatewayConfig
    upstream: Upstream | None
    env: Mapping[str, str] | None
    dirs: dict[str, list[Path]] = field(default_factory=dict)
    spent: dict[Path, Decimal] = field(default_factory=dict)
    reused: int = 0  # runs read from disk, complete, on a resume

    def run(self, effort: str, start: int, stop: int) -> list[ResultRow]:
        run_dir = self.settings.tune_dir / "runs" / f"{effort}-{start}-{stop}"
        left = self._left(run_dir)
        if (run_dir / "run.json").exists():
            outcome = self._again(run_dir, left)
        else:
            outcome = self._new(effort, start, stop, run_dir, left)
        if outcome is not None:
            write_summary(RunDir(run_dir), outcome)
            self.spent[run_dir] = outcome.spent_usd
            if outcome.stopped is not None:
                error = TuneCapError if outcome.stopped.startswith("spend cap") else TuneError
                raise error(f"{self.model}@{effort}: the run in {run_dir} stopped short: "
                            f"{outcome.stopped}; `laneway tune-effort --resume "
                            f"{self.settings.tune_dir}` goes on")  # fmt: skip
        self.dirs.setdefault(effort, []).append(run_dir)
        return list(RunDir(run_dir).rows())

    def all_dirs(self) -> list[Path]:
        return [path for paths in self.dirs.values() for path in paths]

    def rows(self, effort: str) -> list[ResultRow]:
        return [row for path in self.dirs.get(effort, []) for row in RunDir(path).rows()]

    @property
    def spent_usd(self) -> Decimal:
        return sum(self.spent.values(), Decimal(0))

    def _left(self, run_dir: Path) -> Decimal | None:
        """What the cap leaves this run: the cap less what the other runs spent."""
        cap = self.settings.spend_cap_usd
        if cap is None:
            return None
        others = sum((v for k, v in self.spent.items() if k != run_dir), Decimal(0))
        return cap - others

    def _new(
        self, effort: str, start: int, stop: int, run_dir: Path, left: Decimal | None
    ) -> RunOutcome:
        if left is not None and left <= 0:
            raise TuneCapError(f"the spend cap is spent before {self.model}@{effort}; "
                               f"`laneway tune-effort --resume {self.settings.tune_dir} "
                               "--spend-cap USD` goes on with a higher one")  # fmt: skip
        cell = CellConfig(model=self.model, effort=effort)
        experiment = ExperimentConfig(
            workloads=(str(self._lines(start, stop)),),
            baseline=cell,
            candidates=CandidatesConfig(cells=(cell,)),
            repeats=self.settings.repeats,
            concurrency=self.settings.concurrency,
            spend_cap_usd=left,
        )
        run_settings = RunSettings(run_dir, key=self.settings.key, over_cap=True,
                                   emulator_seed=self.settings.emulator_seed)  # fmt: skip
        return asyncio.run(
            run(experiment, run_settings, self.config, upstream=self.upstream, env=self.env)
        )

    def _again(self, run_dir: Path, left: Decimal | None) -> RunOutcome | None:
        """A run a stopped tuning made: None when it is complete (its rows are read), else it
        is resumed under what the cap leaves it."""
        folder = RunDir(run_dir)
        invocations = folder.manifest().extra.get("invocations", [])
        if invocations and invocations[-1].get("stopped") is None:
            self.reused += 1
            rows = list(folder.rows())
            self.spent[run_dir] = sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))
            return None
        return asyncio.run(resume(run_dir, self.config, upstream=self.upstream, env=self.env,
                                  spend_cap_usd=left))  # fmt: skip

    def _lines(self, start: int, stop: int) -> Path:
        """Lines start .. stop - 1 of the workload, as a file of their own."""
        target = self.settings.tune_dir / f"lines-{start}-{stop}.jsonl"
        if not target.exists():
            source = self.settings.tune_dir / "workload.jsonl"
            partial = target.with_suffix(".partial")  # renamed when whole: a kill leaves none
            with source.open("rb") as read, partial.open("wb") as out:
                for number, raw in enumerate(read):
                    if start <= number < stop:
                        out.write(raw)
            partial.replace(target)
        return target
