"""Stopped and resumed: no complete call is made again, none is lost, and the calls that were
in flight when it stopped (at most `concurrency`) are made again and counted. Stopped by a
cancellation as Ctrl-C gives one (asyncio.run cancels the main task), and by SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.replay.plan import RunPlan
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RESULTS, RunDir, RunDirError, RunManifest
from laneway.replay.runner import RunOutcome, RunSettings, resume, run
from tests.paths import REPO
from tests.replay.runs import experiment, gateway_config, keys, many_lines, rows, upstream_of


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=7, speed=0, tier="none")) as server:
        yield server


class StopAfter:
    """Cancels the run's task after `limit` rows, as Ctrl-C would."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: list[ResultRow] = []
        self.task: asyncio.Task[RunOutcome] | None = None
        self.started: tuple[int, Decimal] | None = None

    def run_started(
        self, manifest: RunManifest, plan: RunPlan, done: int, spent_usd: Decimal
    ) -> None:
        self.started = (done, spent_usd)

    def row_done(self, row: ResultRow) -> None:
        self.seen.append(row)
        if len(self.seen) == self.limit and self.task is not None:
            self.task.cancel()

    def run_ended(self, outcome: RunOutcome) -> None:
        return


def in_flight(run_dir: Path) -> set[tuple[str, str, int]]:
    """Calls started without a row: those a resume makes again."""
    folder = RunDir(run_dir)
    return set(folder.started()) - {row.key for row in folder.rows()}


def test_an_interrupted_run_resumes_without_repeating_a_complete_call(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = many_lines(tmp_path / "work.jsonl", 30)
    config = gateway_config(tmp_path)
    chosen = experiment(workload, concurrency=4)  # 3 cells x 30 lines x 2 repeats = 180 calls
    settings = RunSettings(tmp_path / "run")
    events = StopAfter(25)

    async def interrupted() -> RunOutcome:
        task = asyncio.create_task(
            run(chosen, settings, config, events=events, upstream=upstream_of(emulator))
        )
        events.task = task
        return await task

    first = asyncio.run(interrupted())
    assert first.stopped == "interrupted"
    assert first.completed == first.made_now == len(rows(settings.run_dir)) >= 25
    assert first.completed < 180
    assert first.spent_usd == sum((r.cost_usd or Decimal(0)) for r in rows(settings.run_dir))
    flying = in_flight(settings.run_dir)
    # Calls cancelled mid-way; none when every worker was waiting for its row's fsync (a row
    # being written is written all the same).
    assert len(flying) <= chosen.concurrency

    again = StopAfter(0)
    second = asyncio.run(
        resume(settings.run_dir, config, events=again, upstream=upstream_of(emulator))
    )
    assert again.started == (first.completed, first.spent_usd)
    assert second.stopped is None
    assert (second.completed, second.resumed_from) == (180, first.completed)
    assert second.made_now == 180 - first.completed
    assert second.repeated == len(flying)
    found = keys(rows(settings.run_dir))
    assert len(found) == 180
    assert set(found.values()) == {1}
    invocations = RunDir(settings.run_dir).manifest().extra["invocations"]
    assert [i["repeated"] for i in invocations] == [0, len(flying)]


def test_a_resume_refuses_a_run_whose_files_changed(tmp_path: Path) -> None:
    workload = many_lines(tmp_path / "work.jsonl", 2)
    config = gateway_config(tmp_path)
    settings = RunSettings(tmp_path / "run")
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        asyncio.run(run(experiment(workload), settings, config, upstream=upstream_of(emulator)))
    changed = settings.run_dir / "workload.jsonl"
    changed.write_bytes(changed.read_bytes().replace(b"q1", b"q9"))
    with pytest.raises(RunDirError, match=r"workload\.jsonl changed since the run started"):
        asyncio.run(resume(settings.run_dir, config))
    with pytest.raises(RunDirError, match="not a run directory"):
        asyncio.run(resume(tmp_path, config))


KILLED_RUN = """
import asyncio, sys
from pathlib import Path
from laneway.config import GatewayConfig
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.runner import RunSettings, run

experiment = ExperimentConfig.model_validate_json(Path(sys.argv[1]).read_text())
config = GatewayConfig.model_validate_json(Path(sys.argv[2]).read_text())
asyncio.run(run(experiment, RunSettings(Path(sys.argv[3])), config))
"""


def test_a_run_killed_with_sigkill_resumes_with_every_call_exactly_once(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = many_lines(tmp_path / "work.jsonl", 400)
    config = gateway_config(tmp_path)
    chosen = experiment(workload, repeats=1, concurrency=6)  # 1,200 calls
    (tmp_path / "experiment.json").write_text(chosen.model_dump_json(), encoding="utf-8")
    assert config.ledger.path is not None
    raw_config = {"ledger": {"path": str(config.ledger.path)}}
    (tmp_path / "config.json").write_text(json.dumps(raw_config), encoding="utf-8")
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANEWAY_"))}
    # No provider and no key: the run starts its own emulator, in a process of its own.
    log = tmp_path / "child.log"
    with log.open("wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_RUN, *(str(tmp_path / n) for n in
             ("experiment.json", "config.json", "run"))],
            env=env, cwd=REPO, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _rows_on_disk(run_dir) < 150:
            assert child.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the run made too few rows"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    flying = in_flight(run_dir)
    before = len(rows(run_dir))
    assert 150 <= before < 1_200
    assert len(flying) <= chosen.concurrency

    outcome = asyncio.run(resume(run_dir, config, upstream=upstream_of(emulator)))
    assert outcome.stopped is None
    assert (outcome.resumed_from, outcome.repeated) == (before, len(flying))
    found = keys(rows(run_dir))
    assert len(found) == 1_200
    assert set(found.values()) == {1}


def _rows_on_disk(run_dir: Path) -> int:
    try:
        return (run_dir / RESULTS).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_a_resume_refuses_a_catalog_whose_prices_changed_since_the_start(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = many_lines(tmp_path / "work.jsonl", 12)
    chosen = experiment(workload, concurrency=2, repeats=1)  # 3 cells x 12 = 36 calls
    settings = RunSettings(tmp_path / "run")
    events = StopAfter(10)

    async def interrupted() -> RunOutcome:
        task = asyncio.create_task(
            run(chosen, settings, gateway_config(tmp_path), events=events,
                upstream=upstream_of(emulator))
        )  # fmt: skip
        events.task = task
        return await task

    assert asyncio.run(interrupted()).stopped == "interrupted"
    done = len(rows(settings.run_dir))
    # gpt-5.4's prices change in the config between the start and the resume.
    dearer = tmp_path / "dearer.toml"
    dearer.write_text('[models."gpt-5.4".prices]\noutput = "150.00"\n')
    repriced = gateway_config(tmp_path, catalog=[str(dearer)])
    with pytest.raises(RunDirError, match="catalog's entries for this run's models changed"):
        asyncio.run(resume(settings.run_dir, repriced, upstream=upstream_of(emulator)))
    assert len(rows(settings.run_dir)) == done  # refused before any call

    # A price of a model the run does not use may change freely.
    other = tmp_path / "other.toml"
    other.write_text('[models."gpt-5.4-nano".prices]\noutput = "0.40"\n')
    config = gateway_config(tmp_path, catalog=[str(other)])
    outcome = asyncio.run(resume(settings.run_dir, config, upstream=upstream_of(emulator)))
    assert (outcome.stopped, outcome.completed) == (None, 36)
