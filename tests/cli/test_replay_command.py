"""`laneway replay`: the plan before any call, bad input as one line and exit 2, the spend cap,
and whole runs through the command line against the emulator, with the costs in results.json
checked against the ledger and the emulator's own bill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.pricing.catalog import Catalog
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.plan import plan_run
from laneway.replay.run_setup import read_workloads
from laneway.replay.summary import AGREEMENT_NOTE, EMULATED_NOTE
from laneway.replay.summary_text import money
from tests.cli.conftest import Run, assert_one_line_error
from tests.replay.runs import (
    PROVIDER_KEY,
    emulator_bill,
    line,
    many_lines,
    records,
    small_workload,
)

MATRIX = ("--baseline", "gpt-5.2@none", "--models", "gpt-5.4-mini", "--efforts", "low")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs land in ./replay-runs and the ledger under XDG_DATA_HOME: both in the test's dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LANEWAY_CONFIG", raising=False)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("EMU_KEY", PROVIDER_KEY)
    with EmulatorServer(EmulatorConfig(seed=5, speed=0, tier="none")) as server:
        yield server


def _config(tmp_path: Path, emulator: EmulatorServer) -> Path:
    """A gateway config whose one provider is the test's emulator, with a ledger of its own."""
    path = tmp_path / "laneway.toml"
    path.write_text(
        f'[ledger]\npath = "{tmp_path / "ledger.db"}"\n'
        f'[providers.emu]\nkind = "openai-compatible"\nbase_url = "{emulator.base_url}"\n'
        'api_key_env = "EMU_KEY"\n',
        encoding="utf-8",
    )
    return path


def test_the_plan_prints_expected_and_worst_cost_and_calls_nothing(
    run: Run, tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    config = _config(tmp_path, emulator)
    result = run("replay", str(workload), *MATRIX, "--plan", "--config", str(config))
    assert result.code == 0, result.err
    experiment = ExperimentConfig.model_validate(
        {
            "workloads": [str(workload)],
            "baseline": {"model": "gpt-5.2", "effort": "none"},
            "candidates": {"models": ["gpt-5.4-mini"], "efforts": ["low"]},
        }
    )
    plan = plan_run(experiment, read_workloads([str(workload)]), Catalog.load())
    rows = [x for x in result.out.splitlines() if x.startswith("│")]
    assert [x.split("│")[1].strip() for x in rows] == [
        "gpt-5.2@none (baseline)",
        "gpt-5.4-mini@low",
        "all",
    ]
    assert [x.strip() for x in rows[-1].split("│")[2:5]] == [
        "8",
        money(plan.expected_usd),
        money(plan.worst_usd),
    ]
    assert plan.worst_usd is not None
    assert plan.worst_usd > 0
    assert "no call made" in result.out
    assert not (tmp_path / "replay-runs").exists()  # no run directory
    assert not (tmp_path / "ledger.db").exists()  # and no call: no ledger record
    assert emulator_bill(emulator) == 0

    as_json = run("replay", str(workload), *MATRIX, "--plan", "--json", "--config", str(config))
    value = json.loads(as_json.out)
    assert (Decimal(value["worst_usd"]), value["calls"]) == (plan.worst_usd, 8)


def test_a_malformed_workload_names_every_bad_line(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(
        line("ok-1") + b"not json\n" + line("ok-2").replace(b'"POST"', b'"GET"') + line("ok-1")
    )
    result = run("replay", str(bad), *MATRIX, "--plan")
    assert_one_line_error(
        result,
        "3 bad line(s)",
        "line 2: not valid JSON",
        'line 3 (ok-2): method must be "POST"',
        "line 4 (ok-1): custom_id already used on line 1",
    )


def test_an_unknown_model_is_refused_with_a_suggestion(run: Run, tmp_path: Path) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    result = run("replay", str(workload), "--models", "gpt-5.4-mnii", "--plan")
    assert_one_line_error(result, "unknown model 'gpt-5.4-mnii'", "did you mean 'gpt-5.4-mini'")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--models", "gpt-5.4"), "give a workload file"),
        (("w.jsonl",), "--models: name at least one"),
        (("w.jsonl", "--models", "gpt-5.4", "--efforts", "fast"), "--efforts: unknown"),
        (("--demo", "w.jsonl"), "--demo replays the shipped workload"),
        (("--resume", "somewhere", "--models", "x"), "--resume goes on with the run"),
        (("missing.jsonl", "--models", "gpt-5.4"), "missing.jsonl: 1 bad line(s): cannot read"),
        (("--demo", "--cache-dir", "c"), "--cache-dir names the cache --reuse uses"),
    ],
)
def test_bad_flags_are_one_line(run: Run, args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(run("replay", *args), fragment)


def test_over_the_cap_is_refused_unless_told(
    run: Run, tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    config = _config(tmp_path, emulator)
    common = ("replay", str(workload), *MATRIX, "--config", str(config), "--spend-cap", "0.0001")
    refused = run(*common, "--run-dir", str(tmp_path / "refused"))
    assert_one_line_error(refused, "exceeds its spend cap", "--over-cap")
    assert not (tmp_path / "refused").exists()
    assert emulator_bill(emulator) == 0

    told = run(*common, "--over-cap", "--run-dir", str(tmp_path / "told"), "--json")
    assert told.code == 1, told.err  # it ran, and stopped at the cap: resumable
    value = json.loads(told.out)
    assert value["stopped"].startswith("spend cap")
    assert Decimal(value["spent_usd"]) <= Decimal("0.0001") < Decimal(value["spent_usd"]) + 1
    assert "--resume" in told.err

    # The same cap stops it again at once; a raised one lets it finish, and is kept.
    again = run("replay", "--resume", str(tmp_path / "told"), "--config", str(config), "--json")
    assert again.code == 1, again.err
    assert json.loads(again.out)["stopped"].startswith("spend cap")
    raised = run("replay", "--resume", str(tmp_path / "told"), "--config", str(config),
                 "--spend-cap", "5", "--json")  # fmt: skip
    assert raised.code == 0, raised.err
    finished = json.loads(raised.out)
    assert finished["stopped"] is None
    assert Decimal(finished["spent_usd"]) > Decimal("0.0001")
    manifest = json.loads((tmp_path / "told" / "run.json").read_text())
    assert manifest["spend_cap_usd"] == "5"
    bad = run("replay", "--resume", str(tmp_path / "told"), "--spend-cap", "-1")
    assert_one_line_error(bad, "--spend-cap")


def test_a_run_through_the_command_costs_what_the_ledger_and_the_bill_say(
    run: Run, tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    config = _config(tmp_path, emulator)
    run_dir = tmp_path / "run"
    result = run("replay", str(workload), *MATRIX, "--repeats", "2", "--config", str(config),
                 "--run-dir", str(run_dir), "--tier", "tier-1")  # fmt: skip
    assert result.code == 0, result.err
    assert "gpt-5.4-mini@low" in result.out
    assert "written:" in result.out
    assert "4/4 calls" not in result.err  # plain progress: a start and an end line, no more
    assert len(result.err.splitlines()) <= 4

    summary = orjson.loads((run_dir / "results.json").read_bytes())
    by_cell = {
        (record.annotations or {})["replay-cell"]: Decimal(0) for record in records_of(config)
    }
    for record in records_of(config):
        by_cell[(record.annotations or {})["replay-cell"]] += record.cost_usd or Decimal("NaN")
    cells = {cell["label"]: cell for cell in summary["cells"]}
    assert set(cells) == set(by_cell) == {"gpt-5.2@none", "gpt-5.4-mini@low"}
    for label, spent in by_cell.items():
        assert Decimal(cells[label]["cost"]["total_usd"]) == spent  # each cell: its records
        assert cells[label]["calls"] == 8
    assert Decimal(summary["spent_usd"]) == emulator_bill(emulator) > 0  # the provider's books
    assert (summary["emulated"], summary["upstream"]) == (False, "emu")
    assert cells["gpt-5.2@none"]["throughput"]["ceiling_rpm"] is not None  # tier-1 known

    again = run("replay", "summary", str(run_dir), "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["cells"] == json.loads(orjson.dumps(summary))["cells"]

    resumed = run("replay", "--resume", str(run_dir), "--config", str(config), "--json")
    assert resumed.code == 0, resumed.err  # every call was made: nothing to do
    assert json.loads(resumed.out)["resumed_from"] == 16
    assert Decimal(json.loads(resumed.out)["spent_usd"]) == emulator_bill(emulator)


def records_of(config_path: Path) -> list[LedgerRecord]:
    return records(GatewayConfig.load(config_path))


def test_the_demo_runs_offline_on_the_emulator_and_says_so(run: Run, tmp_path: Path) -> None:
    result = run("replay", "--demo", "--models", "gpt-5.4-mini", "--efforts", "none", "--json",
                 "--run-dir", str(tmp_path / "demo"))  # fmt: skip
    assert result.code == 0, result.err
    value = json.loads(result.out)
    assert (value["emulated"], value["upstream"], value["quality_kind"]) == (
        True,
        "emulator",
        "expectations",
    )
    assert EMULATED_NOTE in value["notes"]
    assert [c["label"] for c in value["cells"]] == ["as-written", "gpt-5.4-mini@none"]
    assert all(c["calls"] == c["ok"] == 300 for c in value["cells"])
    assert all(0 < c["quality"]["mean"] < 1 for c in value["cells"])  # emulated skill, graded
    ledger = {"ledger": {"path": str(tmp_path / "data" / "laneway" / "ledger.db")}}
    found = records(GatewayConfig.model_validate(ledger))
    spent = sum((r.cost_usd or Decimal("NaN") for r in found), Decimal(0))
    assert Decimal(value["spent_usd"]) == spent > 0
    md = (tmp_path / "demo" / "summary.md").read_text()
    assert "**Emulated skills, not real models' quality.**" in md


def test_without_expectations_the_output_says_agreement(
    run: Run, tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = tmp_path / "plain.jsonl"
    workload.write_bytes(line("a1") + line("a2", chat=True))
    config = _config(tmp_path, emulator)
    result = run("replay", str(workload), *MATRIX, "--config", str(config), "--run-dir",
                 str(tmp_path / "agree"))  # fmt: skip
    assert result.code == 0, result.err
    assert "agreement" in result.out
    assert "not correctness" in result.out
    value = orjson.loads((tmp_path / "agree" / "results.json").read_bytes())
    assert AGREEMENT_NOTE in value["notes"]


def test_bare_replay_shows_help_and_summary_of_a_non_run_is_one_line(
    run: Run, tmp_path: Path
) -> None:
    bare = run("replay")
    assert bare.code == 2
    assert "laneway replay WORKLOAD" in bare.err
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run("replay", "summary", str(tmp_path / "empty")), "not a run directory")


def test_ctrl_c_stops_a_run_resumable_and_resume_finishes_it(run: Run, tmp_path: Path) -> None:
    workload = many_lines(tmp_path / "work.jsonl", 400)
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANEWAY_"))}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    args = ("replay", str(workload), "--models", "gpt-5.4", "--concurrency", "4",
            "--run-dir", str(run_dir))  # fmt: skip
    # No provider and no key: the run's own emulator, in a process of its own.
    child = subprocess.Popen(
        [sys.executable, "-m", "laneway.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _rows_on_disk(run_dir) < 100:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the run made too few rows"
            time.sleep(0.01)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 1, err
    assert f"stopped: interrupted; laneway replay --resume {run_dir}" in err.decode()
    assert "written:" in out.decode()
    stopped = orjson.loads((run_dir / "results.json").read_bytes())
    assert 100 <= stopped["completed"] < 800

    resumed = run("replay", "--resume", str(run_dir), "--json")
    assert resumed.code == 0, resumed.err
    value = json.loads(resumed.out)
    assert (value["completed"], value["resumed_from"]) == (800, stopped["completed"])
    assert value["repeated"] <= 4  # at most the calls in flight at the stop
    assert all(cell["calls"] == 400 for cell in value["cells"])


def test_the_plan_says_when_the_worst_case_is_over_the_cap(run: Run, tmp_path: Path) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    result = run("replay", str(workload), *MATRIX, "--plan", "--spend-cap", "0.001")
    assert result.code == 0, result.err
    assert "exceeds it: the run stops at the cap, and starts only with --over-cap" in result.out


def _rows_on_disk(run_dir: Path) -> int:
    try:
        return (run_dir / "results.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_a_python_grader_that_does_not_import_is_refused_before_the_plan(
    run: Run, tmp_path: Path
) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    result = run("replay", str(workload), *MATRIX, "--grader", "no_such_module:grade", "--plan")
    assert_one_line_error(result, "python grader 'no_such_module:grade': cannot import")
