"""The skill model's accuracy table: the default order of models and efforts, and `[skills]` in
an emulator config (typed, validated at load, unknown keys refused)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig, EmulatorConfigError
from laneway.emulator.skills import DEFAULT_ACCURACY, FALLBACK_ACCURACY, SkillsConfig
from laneway.pricing.catalog import Catalog

ORDER = ("gpt-5.4-nano", "gpt-5.4-mini", "gpt-5.2", "gpt-5.4")
EFFORTS = ("none", "low", "medium", "high", "xhigh")


@pytest.mark.parametrize("effort", EFFORTS)
def test_models_are_ordered_with_detectable_gaps_at_every_effort(effort: str) -> None:
    chances = [DEFAULT_ACCURACY[model][effort] for model in ORDER]  # type: ignore[index]
    gaps = [b - a for a, b in itertools.pairwise(chances)]
    assert min(gaps) >= 0.05, chances


@pytest.mark.parametrize("model", ORDER)
def test_effort_helps_with_diminishing_returns(model: str) -> None:
    row = DEFAULT_ACCURACY[model]
    chances = [row[effort] for effort in EFFORTS]  # type: ignore[index]
    gains = [b - a for a, b in itertools.pairwise(chances)]
    assert all(gain > 0 for gain in gains), chances
    assert gains == sorted(gains, reverse=True), gains


def test_rows_cover_the_efforts_the_catalog_lets_each_model_take() -> None:
    catalog = Catalog.load()
    for model in ORDER:
        spec = catalog.find(model)
        assert spec is not None
        accepted = spec.reasoning_efforts or ("none", "minimal", "low", "medium", "high", "xhigh")
        assert set(accepted) <= set(DEFAULT_ACCURACY[model]), model


def test_chance_falls_back_for_unknown_models_and_efforts_and_clamps() -> None:
    skills = SkillsConfig(difficulty={"classification": 0.5})
    assert skills.chance("gpt-5.4", "high", "extraction") == DEFAULT_ACCURACY["gpt-5.4"]["high"]
    assert skills.chance("my-model", "low", "passage_qa") == FALLBACK_ACCURACY["low"]
    # gpt-5.2 has no "minimal": the nearest lower effort it has ("none"); above xhigh, xhigh.
    assert skills.chance("gpt-5.2", "minimal", "tool_call") == DEFAULT_ACCURACY["gpt-5.2"]["none"]
    assert skills.chance("gpt-5.2", "max", "tool_call") == DEFAULT_ACCURACY["gpt-5.2"]["xhigh"]
    assert skills.chance("gpt-5.4", "xhigh", "classification") == 1.0  # clamped
    assert skills.chance("gpt-5.4", "none", "arithmetic") == pytest.approx(0.71)  # default -0.05


def test_a_configured_row_replaces_that_model_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text(
        '[skills.accuracy."gpt-5.4-mini"]\nnone = 0.9\n[skills.difficulty]\narithmetic = 0.0\n'
    )
    skills = EmulatorConfig.load(path).skills
    assert skills.chance("gpt-5.4-mini", "high", "arithmetic") == 0.9  # its only effort
    assert skills.chance("gpt-5.4", "none", "arithmetic") == DEFAULT_ACCURACY["gpt-5.4"]["none"]
    assert skills.chance("gpt-5.4", "none", "classification") == pytest.approx(0.81)


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('[skills.accuracy."gpt-5.4"]\nnone = 1.5\n', "must be 1 or less, got 1.5"),
        ('[skills.accuracy."gpt-5.4"]\nnone = -0.1\n', "must be 0 or more"),
        ('[skills.accuracy."gpt-5.4"]\nturbo = 0.5\n', "turbo"),
        ('[skills.accuracy]\n"gpt-5.4" = {}\n', "at least 1"),
        ("[skills.difficulty]\npoetry = 0.1\n", "poetry"),
        ("[skills.difficulty]\narithmetic = 2\n", "must be 1 or less"),
        ("[skills]\nskill = 1\n", "skill"),
        ("[skills]\naccuracy = 3\n", "accuracy"),
    ],
)
def test_bad_skills_are_refused_at_load(tmp_path: Path, toml: str, fragment: str) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text(toml)
    with pytest.raises(EmulatorConfigError, match=fragment):
        EmulatorConfig.load(path)
