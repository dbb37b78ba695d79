"""Replay from Python: `laneway.replay.replay` runs an experiment to its end and returns typed
results (the outcome and the summary), with results.json and summary.md written."""

from __future__ import annotations

from pathlib import Path

import pytest

import laneway.replay
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.replay import RunReport, RunSettings, replay, replay_resume
from laneway.replay.run_dir import SUMMARY_JSON, SUMMARY_MD
from tests.replay.runs import (
    PROVIDER_KEY,
    emulator_bill,
    experiment,
    gateway_config,
    small_workload,
)


def test_replay_returns_the_outcome_and_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMU_KEY", PROVIDER_KEY)
    with EmulatorServer(EmulatorConfig(seed=5, speed=0, tier="none")) as emulator:
        providers = {
            "emu": {
                "kind": "openai-compatible",
                "base_url": emulator.base_url,
                "api_key_env": "EMU_KEY",
            }
        }
        config = gateway_config(tmp_path, providers=providers)
        chosen = experiment(small_workload(tmp_path / "work.jsonl"), repeats=1)
        report = replay(chosen, RunSettings(tmp_path / "run"), config)
        assert isinstance(report, RunReport)
        assert [cell.label for cell in report.summary.cells] == [
            "as-written",
            "gpt-5.2@none",
            "gpt-5.4@low",
        ]
        assert report.summary.completed == report.outcome.completed == 12
        assert report.summary.spent_usd == report.outcome.spent_usd == emulator_bill(emulator)
        assert (tmp_path / "run" / SUMMARY_JSON).exists()
        assert (tmp_path / "run" / SUMMARY_MD).exists()

        again = replay_resume(tmp_path / "run", config)  # complete: nothing to make
        assert (again.outcome.made_now, again.summary.resumed_from) == (0, 12)


def test_the_library_names_are_exported_lazily() -> None:
    assert {"replay", "replay_resume", "RunReport", "summarise", "RunSummary"} <= set(
        laneway.replay.__all__
    )
    assert laneway.replay.summarise.__module__ == "laneway.replay.summary"
