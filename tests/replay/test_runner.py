"""The runner against a live emulator on loopback: one row per call on disk, costs that are the
ledger's and add up to the emulator's own bill, records tagged with the run and the cell, and a
run directory that is refused when it is in use."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.assembly import Upstream
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.errors import ConfigError, WorkloadError
from laneway.pricing.catalog import Catalog
from laneway.replay.experiment import AS_WRITTEN
from laneway.replay.graders import GraderError
from laneway.replay.plan import prepare
from laneway.replay.run_dir import RunDir, RunDirError
from laneway.replay.runner import CELL_ANNOTATION, RunSettings, run
from laneway.upstream.provider_config import ProviderConfig
from tests.replay.runs import (
    MINI,
    PROVIDER_KEY,
    emulator_bill,
    experiment,
    gateway_config,
    keys,
    records,
    rows,
    small_workload,
    upstream_of,
)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=5, speed=0, tier="none")) as server:
        yield server


def test_a_run_makes_every_call_once_priced_as_the_ledger_and_the_emulators_bill(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    config = gateway_config(tmp_path)
    settings = RunSettings(tmp_path / "run")
    outcome = asyncio.run(
        run(experiment(workload), settings, config, upstream=upstream_of(emulator))
    )

    found = rows(settings.run_dir)
    cells = ("as-written", "gpt-5.2@none", "gpt-5.4@low")
    expected = {(c, i, r) for c in cells for i in ("r1", "r2", "c1", "c2") for r in (0, 1)}
    assert keys(found) == dict.fromkeys(expected, 1)
    assert (outcome.completed, outcome.made_now, outcome.resumed_from) == (24, 24, 0)
    assert (outcome.repeated, outcome.stopped) == (0, None)
    assert all(row.status == "ok" and row.output is not None for row in found)
    assert {row.model for row in found if row.cell == AS_WRITTEN} == {MINI}
    assert {row.model for row in found if row.cell == "gpt-5.4@low"} == {"gpt-5.4"}
    streamed = [row for row in found if row.custom_id in ("r2", "c2")]
    assert all(row.output and row.output.text for row in streamed if row.cell == AS_WRITTEN)
    assert all(row.ttfb_ms is not None and row.latency_ms is not None for row in streamed)
    assert all(row.ttfb_ms <= row.latency_ms for row in streamed)  # type: ignore[operator]
    graded = [row for row in found if row.custom_id == "r1"]
    assert all([g.grader for g in row.grades] == ["contains"] for row in graded)

    # Each row's cost is its ledger record's; together they are what the emulator billed.
    by_id = {record.id: record for record in records(config)}
    assert len(by_id) == 24
    for row in found:
        record = by_id[row.record_id or ""]
        assert (row.cost_usd, row.usage and row.usage.output_tokens) == (
            record.cost_usd,
            record.usage and record.usage.output_tokens,
        )
        assert record.run_id == outcome.manifest.run_id
        assert record.annotations == {CELL_ANNOTATION: row.cell}
        assert record.key_id == "replay:replay"
    assert all(row.cost_usd is not None for row in found)
    assert outcome.unknown_costs == 0
    spent = sum((row.cost_usd or Decimal(0) for row in found), Decimal(0))
    assert outcome.spent_usd == spent > 0
    assert emulator_bill(emulator) == spent  # the emulator's books, by its own price list

    folder = RunDir(settings.run_dir)
    manifest = folder.manifest()
    assert [cell.label for cell in manifest.cells] == list(cells)
    assert manifest.extra["invocations"][0]["made_now"] == 24
    assert folder.file("workload.jsonl").read_bytes() == workload.read_bytes()
    assert b'[models."gpt-5.4"]' in folder.file("catalog.toml").read_bytes()


def test_a_used_run_directory_is_refused(tmp_path: Path, emulator: EmulatorServer) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    config = gateway_config(tmp_path)
    settings = RunSettings(tmp_path / "run")
    chosen = experiment(workload, repeats=1)
    asyncio.run(run(chosen, settings, config, upstream=upstream_of(emulator)))
    with pytest.raises(RunDirError, match="resume it instead"):
        asyncio.run(run(chosen, settings, config, upstream=upstream_of(emulator)))
    with pytest.raises(RunDirError, match="holds another run"):
        asyncio.run(run(experiment(workload), settings, config, upstream=upstream_of(emulator)))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(RunDirError, match="not empty"):
        asyncio.run(run(chosen, RunSettings(tmp_path / "other"), config))


def test_a_workload_changed_after_it_was_planned_is_refused_before_any_call(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    config = gateway_config(tmp_path)
    chosen = experiment(workload, repeats=1)
    prepared = prepare(chosen, Catalog.load(*config.catalog))
    # Still a valid workload, but not the lines planned: the run would price other prompts.
    workload.write_bytes(workload.read_bytes().replace(b"of France", b"of Spain"))
    settings = RunSettings(tmp_path / "run")
    with pytest.raises(WorkloadError, match="changed since it was checked"):
        asyncio.run(
            run(chosen, settings, config, upstream=upstream_of(emulator), prepared=prepared)
        )
    assert not (settings.run_dir / "run.json").exists()
    assert not (settings.run_dir / "workload.jsonl").exists()
    assert rows(settings.run_dir) == []


def test_without_a_provider_the_run_starts_its_own_emulator_at_the_tier_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    workload = small_workload(tmp_path / "work.jsonl")
    config = gateway_config(tmp_path)
    settings = RunSettings(tmp_path / "run", tier="tier-5", emulator_seed=4)
    outcome = asyncio.run(run(experiment(workload, repeats=1), settings, config))
    assert outcome.stopped is None
    assert (outcome.manifest.upstream, outcome.manifest.tier) == ("emulator", "tier-5")
    assert all(row.status == "ok" for row in rows(settings.run_dir))
    assert {record.provider for record in records(config)} == {"emulator"}
    with pytest.raises(ConfigError, match="tier 'tier-9'"):
        asyncio.run(run(experiment(workload), RunSettings(tmp_path / "r2", tier="tier-9"), config))


def test_the_ceilings_tier_is_the_providers_when_the_run_names_none(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    said = Upstream(
        {
            "emu": ProviderConfig(
                kind="openai-compatible",
                base_url=emulator.base_url,
                api_key_env="EMU_KEY",
                tier="tier-4",
            )
        },
        {"EMU_KEY": PROVIDER_KEY},
    )
    config = gateway_config(tmp_path)
    outcome = asyncio.run(
        run(experiment(workload, repeats=1), RunSettings(tmp_path / "a"), config, upstream=said)
    )
    assert outcome.manifest.tier == "tier-4"
    unsaid = asyncio.run(
        run(
            experiment(workload, repeats=1),
            RunSettings(tmp_path / "b"),
            config,
            upstream=upstream_of(emulator),
        )
    )
    assert unsaid.manifest.tier is None
    named = RunSettings(tmp_path / "c", tier="tier-2")
    chosen = asyncio.run(run(experiment(workload, repeats=1), named, config, upstream=said))
    assert chosen.manifest.tier == "tier-2"


def test_python_graders_grade_every_answer_and_a_bad_one_refuses_the_run(
    tmp_path: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_checks.py").write_text(
        "def short(request, answer, expected):\n"
        "    return (1.0 if len(answer.text) < 10_000 else 0.0, 'short?')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    workload = small_workload(tmp_path / "work.jsonl")
    config = gateway_config(tmp_path)
    bad = experiment(workload, graders=["no_such_module_here:f"])
    with pytest.raises(GraderError, match="cannot import 'no_such_module_here'"):
        asyncio.run(run(bad, RunSettings(tmp_path / "bad"), config, upstream=upstream_of(emulator)))
    assert not (tmp_path / "bad").exists()
    graded = experiment(workload, repeats=1, graders=["my_checks:short"])
    settings = RunSettings(tmp_path / "run")
    asyncio.run(run(graded, settings, config, upstream=upstream_of(emulator)))
    found = rows(settings.run_dir)
    assert all(row.grades[-1].grader == "my_checks:short" for row in found)
    assert all(row.grades[-1].value == 1.0 for row in found)
