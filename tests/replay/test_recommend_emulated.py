"""End to end on the emulator's skill model, where the truth is configured: the demo workload
(300 lines) replayed through laneway's gateway against an in-thread emulator whose skills make
gpt-5.4-mini at effort none as good as the gpt-5.2 baseline and gpt-5.4-nano 10 points worse
(5x the 2-point margin); the dearer equals (gpt-5.4-mini at low: its reasoning tokens; gpt-5.4)
qualify but are not the cheapest. The recommendation picks gpt-5.4-mini@none. The skills are
emulated: this proves the instrument, not any real model's quality."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.emulator.skills import DEFAULT_DIFFICULTY, SkillsConfig
from laneway.replay.demo import DEMO_WORKLOAD
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.recommend import recommend_run
from laneway.replay.recommend_text import sentence
from laneway.replay.run_dir import RunDir
from laneway.replay.run_setup import CONFIG_FILE, CONFIG_HASH, file_sha256
from laneway.replay.runner import RunSettings, run
from tests.replay.runs import gateway_config, upstream_of

SKILLS = SkillsConfig(
    accuracy={
        "gpt-5.2": {"none": 1.0},
        "gpt-5.4-mini": {"none": 1.0, "low": 1.0},
        "gpt-5.4": {"none": 1.0},
        "gpt-5.4-nano": {"none": 0.9},
    },
    difficulty=dict.fromkeys(DEFAULT_DIFFICULTY, 0.0),  # the chances exactly as written
)


def test_the_pick_is_the_cheapest_cell_the_skills_make_no_worse(tmp_path: Path) -> None:
    experiment = ExperimentConfig.model_validate(
        {
            "workloads": [str(DEMO_WORKLOAD)],
            "baseline": {"model": "gpt-5.2", "effort": "none"},
            "candidates": {
                "cells": [
                    {"model": "gpt-5.4-nano", "effort": "none"},
                    {"model": "gpt-5.4-mini", "effort": "low"},
                    {"model": "gpt-5.4-mini", "effort": "none"},
                    {"model": "gpt-5.4", "effort": "none"},
                ]
            },
            "concurrency": 16,
            "lane": "legacy",
        }
    )
    config = gateway_config(tmp_path)
    emulated = EmulatorConfig(seed=5, speed=0, tier="none", skills=SKILLS)
    with EmulatorServer(emulated) as emulator:
        given = tmp_path / "laneway.toml"  # recorded for `apply`'s check, by its hash
        given.write_text("# the gateway's config\n")
        settings = RunSettings(tmp_path / "run", tier="tier-5", config_file=given)
        outcome = asyncio.run(run(experiment, settings, config, upstream=upstream_of(emulator)))
    assert outcome.stopped is None
    extra = RunDir(tmp_path / "run").manifest().extra
    assert extra["lane"] == "legacy"
    assert extra[CONFIG_HASH] == file_sha256(given)
    assert extra[CONFIG_FILE] == str(given.resolve())
    found = recommend_run(RunDir(tmp_path / "run"), np.random.default_rng(0))
    verdicts = {option.label: option.verdict for option in found.options}
    assert verdicts == {
        "gpt-5.4-nano@none": "worse",
        "gpt-5.4-mini@low": "non-inferior",
        "gpt-5.4-mini@none": "non-inferior",
        "gpt-5.4@none": "non-inferior",
    }
    assert found.pick is not None
    assert found.pick.label == "gpt-5.4-mini@none"
    costs = {o.label: o.cost_per_request_usd for o in found.options}
    assert costs.pop("gpt-5.4-nano@none") is None  # the catalog lacks its output price
    cheapest = min(costs.items(), key=lambda item: item[1] or 0)
    assert cheapest[0] == found.pick.label
    assert found.baseline.cost_per_request_usd is not None
    assert cheapest[1] is not None
    assert cheapest[1] < found.baseline.cost_per_request_usd
    moved = "move lane legacy from gpt-5.2 to gpt-5.4-mini at effort none: no worse than"
    assert sentence(found).startswith(moved)
