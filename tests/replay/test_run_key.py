"""The key a run is charged to: a virtual key of that name when the key store has one (its id
on every record, its budgets applied), else the fixed id "replay:<name>"; a revoked one is
refused before any call."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.keys.model import VirtualKey
from laneway.keys.secret import new_prefix
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.quota.budget import BudgetLimit
from laneway.replay.runner import RunKeyError, RunSettings, run
from tests.replay.runs import experiment, gateway_config, many_lines, records, rows, upstream_of


def add_key(ledger: Path, **fields: object) -> VirtualKey:
    now = time.time()
    key = VirtualKey(
        id="vk_bench", name="bench", prefix=new_prefix(), digest="0" * 64,
        created_at=now, updated_at=now,
    )  # fmt: skip
    key = replace(key, **fields)  # type: ignore[arg-type]
    store = SQLiteKeyStore(ledger)
    try:
        store.add(key)
    finally:
        store.close()
    return key


def test_a_virtual_key_of_the_runs_key_name_is_charged_and_its_budget_applies(
    tmp_path: Path,
) -> None:
    config = gateway_config(tmp_path)
    assert config.ledger.path is not None
    # A budget of a cent a day: the first calls fit, then the key's budget refuses the rest.
    add_key(config.ledger.path, budgets=(BudgetLimit("day", Decimal("0.01")),))
    workload = many_lines(tmp_path / "work.jsonl", 20)
    settings = RunSettings(tmp_path / "run", key="bench", over_cap=True)
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        outcome = asyncio.run(
            run(
                experiment(workload, concurrency=1),
                settings,
                config,
                upstream=upstream_of(emulator),
            )
        )
    assert outcome.stopped is None
    assert {record.key_id for record in records(config)} == {"vk_bench"}
    found = rows(settings.run_dir)
    refused = [row for row in found if row.status == "refused"]
    assert refused
    assert {row.error_kind for row in refused} == {"budget"}
    assert sum((row.cost_usd or Decimal(0) for row in found), Decimal(0)) <= Decimal("0.01")


def test_a_revoked_key_is_refused_before_any_call(tmp_path: Path) -> None:
    config = gateway_config(tmp_path)
    assert config.ledger.path is not None
    add_key(config.ledger.path, revoked_at=time.time() - 5)
    workload = many_lines(tmp_path / "work.jsonl", 2)
    settings = RunSettings(tmp_path / "run", key="bench")
    with (
        EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator,
        pytest.raises(RunKeyError, match="'bench' is revoked"),
    ):
        asyncio.run(run(experiment(workload), settings, config, upstream=upstream_of(emulator)))
    assert not settings.run_dir.exists()  # refused before the run directory was made
    assert records(config) == []
