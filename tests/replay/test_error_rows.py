"""Failures are rows, never the end of a run: an upstream's 500s after laneway's retries, its
429s, and a stream cut part-way each give rows of their kind while the other cells go on."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from laneway.emulator.config import EmulatorConfig, FaultRule
from laneway.emulator.server import EmulatorServer
from laneway.replay.runner import RunSettings, run
from tests.replay.runs import experiment, gateway_config, keys, rows, small_workload, upstream_of


def test_upstream_failures_are_rows_of_their_kind_and_the_run_goes_on(tmp_path: Path) -> None:
    faults = (
        FaultRule(kind="status", status=500, models=("gpt-5.2",)),
        FaultRule(kind="status", status=429, models=("gpt-5.4",), endpoints=("chat",)),
        FaultRule(kind="cut", after_events=3, models=("gpt-5.4",), endpoints=("responses",)),
    )
    workload = small_workload(tmp_path / "work.jsonl")
    # Breakers that never open, so every call reaches the faults (an open one refuses it).
    config = gateway_config(
        tmp_path, breaker={"consecutive_failures": 1_000_000, "min_requests": 1_000_000}
    )
    settings = RunSettings(tmp_path / "run")
    with EmulatorServer(EmulatorConfig(seed=2, speed=0, tier="none", faults=faults)) as emulator:
        outcome = asyncio.run(
            run(experiment(workload, repeats=1), settings, config, upstream=upstream_of(emulator))
        )
    assert outcome.stopped is None
    found = rows(settings.run_dir)
    assert len(keys(found)) == len(found) == 12
    kinds = Counter((row.cell, row.custom_id, row.status, row.error_kind) for row in found)
    assert kinds == Counter(
        [("as-written", i, "ok", None) for i in ("r1", "r2", "c1", "c2")]
        + [("gpt-5.2@none", i, "error", "server_error") for i in ("r1", "r2", "c1", "c2")]
        + [("gpt-5.4@low", i, "refused", "rate_limit") for i in ("c1", "c2")]
        # A cut is a stream's fault: the whole answer is whole; the stream, cut after its first
        # events reached the caller, is broken.
        + [("gpt-5.4@low", "r1", "ok", None)]
        + [("gpt-5.4@low", "r2", "broken", "broken_stream")]
    )
    failed = [row for row in found if row.status == "error" and row.cell == "gpt-5.2@none"]
    assert all(row.attempts == 2 and row.http_status == 500 for row in failed)  # retried once
    assert all(row.record_id is not None and row.error for row in found if row.status != "ok")
