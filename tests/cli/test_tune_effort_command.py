"""`laneway tune-effort`: a run through the command against a live emulator (its configured,
EMULATED skills), the table, chart and JSON it prints, and bad input as one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.replay.demo import demo_jsonl
from tests.cli.conftest import Run, assert_one_line_error
from tests.replay.runs import PROVIDER_KEY, many_lines

FAMILIES = ("arithmetic", "extraction", "classification", "passage_qa", "tool_call")
SKILLS = {
    "accuracy": {"gpt-5.2": {"none": 0.2, "low": 1.0, "medium": 1.0, "high": 1.0, "xhigh": 1.0}},
    "difficulty": dict.fromkeys(FAMILIES, 0.0),
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LANEWAY_CONFIG", raising=False)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A gateway config whose one provider is an emulator with the skills above."""
    monkeypatch.setenv("EMU_KEY", PROVIDER_KEY)
    emulated = EmulatorConfig.model_validate({"seed": 4, "speed": 0, "tier": "none",
                                              "skills": SKILLS})  # fmt: skip
    with EmulatorServer(emulated) as emulator:
        path = tmp_path / "laneway.toml"
        path.write_text(
            f'[ledger]\npath = "{tmp_path / "ledger.db"}"\n'
            f'[providers.emu]\nkind = "openai-compatible"\nbase_url = "{emulator.base_url}"\n'
            'api_key_env = "EMU_KEY"\n',
            encoding="utf-8",
        )
        yield path


def _workload(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(demo_jsonl(11, 100))
    return path


def test_the_command_picks_low_and_prints_quality_and_cost_by_effort(
    run: Run, tmp_path: Path, config: Path
) -> None:
    result = run("tune-effort", str(_workload(tmp_path)), "--model", "gpt-5.2", "--config",
                 str(config), "--tune-dir", str(tmp_path / "t1"))  # fmt: skip
    assert result.code == 0, result.err
    assert "Pick: gpt-5.2@low, the cheapest effort non-inferior to the best (low)" in result.out
    assert "quality (0..1)" in result.out
    assert "cost per call" in result.out
    low_row = next(line for line in result.out.splitlines() if line.startswith("low "))
    assert "#" * 30 in low_row  # quality 1.0 fills the bar
    assert "Against xhigh: saves" in result.out
    assert "Against none: costs" in result.out
    as_json = run("tune-effort", str(_workload(tmp_path)), "--model", "gpt-5.2", "--config",
                  str(config), "--tune-dir", str(tmp_path / "t2"), "--json")  # fmt: skip
    value = json.loads(as_json.out)
    assert (value["pick"], value["best"], value["margin"]) == ("low", "low", 0.02)
    assert value["calls"] < value["sweep_calls"] == 500
    by_effort = {e["effort"]: e for e in value["efforts"]}
    assert by_effort["low"]["status"] == "pick"
    assert Decimal(by_effort["low"]["cost_per_call_usd"]) > 0  # exact decimal text
    assert [s["against"] for s in value["savings"]] == ["xhigh", "none"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--efforts", "none,turbo"), "--efforts 'none,turbo': each one of"),
        (("--efforts", "minimal"), "gpt-5.2 supports none of minimal"),
        (("--margin", "0"), "--margin"),
    ],
)
def test_bad_flags_are_one_line(
    run: Run, tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = run("tune-effort", str(_workload(tmp_path)), "--model", "gpt-5.2", *args)
    assert_one_line_error(result, fragment)


def test_an_ungraded_workload_and_an_unknown_model_are_one_line(run: Run, tmp_path: Path) -> None:
    plain = many_lines(tmp_path / "plain.jsonl", 3)
    result = run("tune-effort", str(plain), "--model", "gpt-5.2")
    assert_one_line_error(result, "no line has an `expect`")
    result = run("tune-effort", str(_workload(tmp_path)), "--model", "gpt-9")
    assert_one_line_error(result, "gpt-9")
    assert not Path("tune-runs").exists()  # nothing was started


def test_a_capped_tuning_exits_1_and_resumes_with_a_higher_cap(
    run: Run, tmp_path: Path, config: Path
) -> None:
    tune_dir = tmp_path / "capped"
    capped = run("tune-effort", str(_workload(tmp_path)), "--model", "gpt-5.2", "--config",
                 str(config), "--tune-dir", str(tune_dir), "--spend-cap", "0.002")  # fmt: skip
    assert capped.code == 1, capped.err
    assert "stopped:" in capped.err
    assert f"laneway tune-effort --resume {tune_dir}" in capped.err
    refused = run("tune-effort", "--resume", str(tune_dir), "--model", "gpt-5.2")
    assert_one_line_error(refused, "--resume goes on with the tuning as it started")
    refused = run("tune-effort", "--resume", str(tune_dir), "--margin", "3")
    assert_one_line_error(refused, "--resume goes on with the tuning as it started")
    assert_one_line_error(run("tune-effort", "--model", "gpt-5.2"), "give WORKLOAD and --model")
    done = run("tune-effort", "--resume", str(tune_dir), "--config", str(config), "--spend-cap",
               "10")  # fmt: skip
    assert done.code == 0, done.err
    assert "Pick: gpt-5.2@low" in done.out
