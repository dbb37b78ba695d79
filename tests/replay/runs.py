"""Helpers for the runner's tests: a workload written to disk, an experiment over it, a gateway
config with its own ledger, an in-thread emulator as the run's upstream, and a run's files read
back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from laneway.assembly import Upstream
from laneway.config import GatewayConfig
from laneway.emulator.server import EmulatorServer
from laneway.ledger.provider_bill import billed_usd, day_range
from laneway.ledger.record import LedgerRecord
from laneway.ledger.sqlite import SQLiteLedger
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir
from laneway.upstream.provider_config import ProviderConfig

PROVIDER_KEY = "sk-replay-tests-0123456789"
MINI = "gpt-5.4-mini"


def line(custom_id: str, *, chat: bool = False, stream: bool = False, **body: Any) -> bytes:
    """One workload line: a short prompt to gpt-5.4-mini (Responses, or Chat)."""
    prompt = f"Question {custom_id}: what is the capital of France?"
    if chat:
        payload: dict[str, Any] = {"model": MINI, "messages": [{"role": "user", "content": prompt}]}
        url = "/v1/chat/completions"
    else:
        payload = {"model": MINI, "input": prompt}
        url = "/v1/responses"
    if stream:
        payload["stream"] = True
    payload.update(body)
    entry = {"custom_id": custom_id, "method": "POST", "url": url, "body": payload}
    return orjson.dumps(entry) + b"\n"


def small_workload(path: Path) -> Path:
    """Responses and Chat, whole and streamed, one line with an expectation."""
    lines = [
        line("r1", max_output_tokens=200)[:-2] + b', "expect": {"contains": "a"}}\n',
        line("r2", stream=True, max_output_tokens=200),
        line("c1", chat=True, max_completion_tokens=150),
        line("c2", chat=True, stream=True, max_completion_tokens=150),
    ]
    path.write_bytes(b"".join(lines))
    return path


def many_lines(path: Path, count: int) -> Path:
    """`count` short lines, Responses and Chat by turns."""
    made = [
        line(f"q{n}", chat=True, max_completion_tokens=64)
        if n % 2
        else line(f"q{n}", max_output_tokens=64)
        for n in range(count)
    ]
    path.write_bytes(b"".join(made))
    return path


def experiment(workload: Path, **fields: Any) -> ExperimentConfig:
    raw: dict[str, Any] = {
        "workloads": [str(workload)],
        "candidates": {
            "cells": [{"model": "gpt-5.2", "effort": "none"}, {"model": "gpt-5.4", "effort": "low"}]
        },
        "repeats": 2,
        "concurrency": 3,
    }
    raw.update(fields)
    return ExperimentConfig.model_validate(raw)


def gateway_config(tmp_path: Path, **sections: Any) -> GatewayConfig:
    raw: dict[str, Any] = {
        "ledger": {"path": str(tmp_path / "ledger.db")},
        "retry": {"max_attempts": 2, "base_delay_s": 0.001, "max_delay_s": 0.002},
    }
    raw.update(sections)
    return GatewayConfig.model_validate(raw)


def upstream_of(emulator: EmulatorServer) -> Upstream:
    provider = ProviderConfig(
        kind="openai-compatible", base_url=emulator.base_url, api_key_env="EMU_KEY"
    )
    return Upstream({"emu": provider}, {"EMU_KEY": PROVIDER_KEY})


def rows(run_dir: Path) -> list[ResultRow]:
    return list(RunDir(run_dir).rows())


def keys(found: Iterable[ResultRow]) -> Counter[tuple[str, str, int]]:
    return Counter(row.key for row in found)


def records(config: GatewayConfig) -> list[LedgerRecord]:
    assert config.ledger.path is not None
    ledger = SQLiteLedger(config.ledger.path)
    try:
        return list(ledger.between(None, None))
    finally:
        ledger.close()


def emulator_bill(emulator: EmulatorServer) -> Decimal:
    """What the emulator billed today, by its own price list (its Costs API)."""
    start, end = day_range(time.time() - 60, time.time() + 60)
    return billed_usd(emulator.base_url, PROVIDER_KEY, start, end)
