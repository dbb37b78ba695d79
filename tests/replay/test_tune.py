"""tune-effort end to end on a live emulator whose skill model sets the truth (EMULATED skills,
not any real model's): the climb picks the effort the configured accuracies make the cheapest
non-inferior one, measures fewer calls than a full sweep, never sends an effort the catalog says
the model refuses, and counts an effort the provider refuses with a 400 as refused."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.errors import WorkloadError
from laneway.pricing.catalog import Catalog
from laneway.replay.demo import demo_jsonl
from laneway.replay.run_dir import RunDir
from laneway.replay.tune import TuneError, TuneSettings, tune_effort
from tests.replay.runs import gateway_config, many_lines, upstream_of

FAMILIES = ("arithmetic", "extraction", "classification", "passage_qa", "tool_call")
# Gaps of 30 and 40 points (15-20x the 2-point margin), then a plateau at 1.0 where every line
# passes: medium is the cheapest effort non-inferior to the best, whatever the draws.
FLAGSHIP = {"none": 0.3, "low": 0.6, "medium": 1.0, "high": 1.0, "xhigh": 1.0}
MINI = {"none": 0.3, "low": 1.0, "medium": 1.0}


def _skills() -> dict[str, object]:
    return {
        "accuracy": {"gpt-5.2": FLAGSHIP, "gpt-5.4-mini": MINI},
        "difficulty": dict.fromkeys(FAMILIES, 0.0),  # no family shifts the configured truth
    }


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    # The emulator's catalog knows which efforts gpt-5.4-mini accepts; laneway's does not, so
    # laneway must try them and read the provider's 400.
    override = tmp_path / "emulator-catalog.toml"
    override.write_text('[models."gpt-5.4-mini"]\nreasoning_efforts = ["none", "low", "medium"]\n')
    config = EmulatorConfig.model_validate(
        {"seed": 3, "speed": 0, "tier": "none", "skills": _skills()}
    )
    with EmulatorServer(config, catalog=Catalog.load(override)) as server:
        yield server


def _workload(tmp_path: Path, lines: int = 120) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(demo_jsonl(7, lines))
    return path


def test_it_picks_the_effort_the_configured_skills_make_cheapest(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    settings = TuneSettings(tmp_path / "tune")
    report = tune_effort(_workload(tmp_path), "gpt-5.2", settings, gateway_config(tmp_path),
                         upstream=upstream_of(emulator))  # fmt: skip
    assert (report.pick, report.best) == ("medium", "medium")
    figures = {f.effort: f for f in report.efforts}
    assert figures["medium"].quality == 1.0
    assert figures["medium"].lines == 120  # decided on the whole workload
    assert figures["none"].lines == 50  # screened on the first slice only
    assert report.calls == 4 * 50 + 50 + 70 < report.sweep_calls == 600
    costs = [f.cost_per_call_usd for f in report.efforts if f.cost_per_call_usd is not None]
    assert len(costs) == 5  # every effort's cost known, exact
    assert costs == sorted(costs)  # more reasoning, more cost per call
    against = {s.against: s for s in report.savings}
    assert set(against) == {"xhigh", "none"}  # the best is the pick itself
    medium, xhigh, none = (figures[e].cost_per_call_usd or Decimal("NaN") for e in
                           ("medium", "xhigh", "none"))  # fmt: skip
    assert against["xhigh"].cost_per_call_usd == xhigh - medium > 0
    assert against["none"].cost_per_call_usd == none - medium < 0  # medium costs more than none
    # each measurement is a replay run of its own, its rows the ledger's
    runs = sorted(p.name for p in (tmp_path / "tune" / "runs").iterdir())
    assert runs == ["high-0-50", "low-0-50", "medium-0-50", "medium-50-120", "none-0-50",
                    "xhigh-0-50"]  # fmt: skip
    assert sum(len(list(RunDir(tmp_path / "tune" / "runs" / r).rows())) for r in runs) == 320


def test_an_effort_the_provider_refuses_is_counted_as_refused(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    report = tune_effort(_workload(tmp_path), "gpt-5.4-mini", TuneSettings(tmp_path / "tune"),
                         gateway_config(tmp_path), upstream=upstream_of(emulator))  # fmt: skip
    assert report.pick == "low"
    status = {f.effort: f.status for f in report.efforts}
    assert (status["high"], status["xhigh"]) == ("refused", "refused")
    assert any("efforts unknown to the catalog" in note for note in report.notes)


def test_efforts_the_catalog_says_the_model_refuses_are_never_sent(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    settings = TuneSettings(tmp_path / "tune", efforts=("minimal", "none", "low"))
    report = tune_effort(_workload(tmp_path), "gpt-5.2", settings, gateway_config(tmp_path),
                         upstream=upstream_of(emulator))  # fmt: skip
    assert [f.effort for f in report.efforts] == ["none", "low"]
    assert "gpt-5.2@minimal skipped: gpt-5.2 supports none, low, medium, high, xhigh" in (
        report.notes
    )
    assert not list((tmp_path / "tune" / "runs").glob("minimal-*"))


def test_what_cannot_be_tuned_is_refused_before_any_call(tmp_path: Path) -> None:
    config = gateway_config(tmp_path)
    ungraded = many_lines(tmp_path / "plain.jsonl", 5)
    with pytest.raises(TuneError, match="no line has an `expect`"):
        tune_effort(ungraded, "gpt-5.2", TuneSettings(tmp_path / "a"), config)
    with pytest.raises(TuneError, match="supports none of minimal"):
        tune_effort(_workload(tmp_path), "gpt-5.2", TuneSettings(tmp_path / "b",
                    efforts=("minimal",)), config)  # fmt: skip
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("")
    with pytest.raises(TuneError, match="not empty"):
        tune_effort(_workload(tmp_path), "gpt-5.2", TuneSettings(tmp_path / "used"), config)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    with pytest.raises(WorkloadError):
        tune_effort(broken, "gpt-5.2", TuneSettings(tmp_path / "c"), config)
    assert not (tmp_path / "a" / "runs").exists()
