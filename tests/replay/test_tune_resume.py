"""tune-effort under a spend cap, and resumed: the cap stops the tuning part-way (each run given
what the others have not spent), and a resume with a higher cap finishes it as the uncapped
tuning would have, reading complete runs from disk and making none of their calls again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.replay.run_dir import RunDir
from laneway.replay.tune import TuneError, TuneSettings, tune_effort, tune_resume
from laneway.replay.tune_runs import TuneCapError
from tests.replay.runs import gateway_config, records, upstream_of
from tests.replay.test_tune import _skills, _workload


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    config = EmulatorConfig.model_validate(
        {"seed": 3, "speed": 0, "tier": "none", "skills": _skills()}
    )
    with EmulatorServer(config) as server:
        yield server


def _rows(tune_dir: Path) -> int:
    return sum(len(list(RunDir(p).rows())) for p in (tune_dir / "runs").iterdir())


def _spent(tune_dir: Path) -> Decimal:
    return sum(
        (r.cost_usd or Decimal(0) for p in (tune_dir / "runs").iterdir() for r in RunDir(p).rows()),
        Decimal(0),
    )


def test_the_cap_stops_the_tuning_and_a_resume_with_a_higher_cap_finishes_it(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = _workload(tmp_path)
    upstream = upstream_of(emulator)
    full = tune_effort(workload, "gpt-5.2", TuneSettings(tmp_path / "full"),
                       gateway_config(tmp_path), upstream=upstream)  # fmt: skip
    full_spent = _spent(tmp_path / "full")
    cap = full_spent / 3
    capped = TuneSettings(tmp_path / "capped", spend_cap_usd=cap)
    (tmp_path / "own").mkdir()
    config = gateway_config(tmp_path / "own")  # a ledger of its own
    with pytest.raises(TuneCapError, match="spend cap"):
        tune_effort(workload, "gpt-5.2", capped, config, upstream=upstream)
    assert 0 < _spent(tmp_path / "capped") <= cap
    made = _rows(tmp_path / "capped")
    assert 0 < made < full.calls
    state = json.loads((tmp_path / "capped" / "tune.json").read_text())
    assert (state["model"], state["spend_cap_usd"]) == ("gpt-5.2", str(cap))

    # The same cap stops it again before any call; a higher one finishes it.
    with pytest.raises(TuneCapError):
        tune_resume(tmp_path / "capped", config, upstream=upstream)
    assert _rows(tmp_path / "capped") == made
    report = tune_resume(tmp_path / "capped", config, spend_cap_usd=full_spent * 2,
                         upstream=upstream)  # fmt: skip
    assert (report.pick, report.best) == (full.pick, full.best)
    assert report.calls == full.calls
    assert _rows(tmp_path / "capped") == full.calls  # nothing made twice
    assert [(f.effort, f.lines, f.quality) for f in report.efforts] == [
        (f.effort, f.lines, f.quality) for f in full.efforts
    ]
    # Calls in flight when the cap stopped a run are made again, at most `concurrency` of them.
    assert full.calls <= len(records(config)) <= full.calls + capped.concurrency


def test_a_resume_needs_a_tune_directory(tmp_path: Path) -> None:
    with pytest.raises(TuneError, match=r"no tune\.json"):
        tune_resume(tmp_path, gateway_config(tmp_path))
