"""A replay's memory does not grow with its workload's bodies: a workload of large prompts is
read, planned, run and summarised while Python holds far less than the file's size (the lines
stream from disk; per line only a few numbers are kept).

The emulator answers from a process of its own (the run's default upstream), so what is traced
is replay and its gateway alone, not an emulator's stored responses and prompt cache."""

from __future__ import annotations

import asyncio
import random
import tracemalloc
from pathlib import Path

import orjson

from laneway.replay.run_dir import RunDir
from laneway.replay.runner import RunSettings, run
from laneway.replay.summary import summarise
from tests.replay.runs import MINI, experiment, gateway_config, small_workload

LINES = 1_000
PROMPT_CHARS = 20_000
_WORDS = ("river", "stone", "market", "theory", "window", "garden", "signal", "copper", "lantern")


def large_workload(path: Path) -> Path:
    """LINES lines, each a distinct prompt of about PROMPT_CHARS characters."""
    draw = random.Random(19)  # reproducible test data
    with path.open("wb") as file:
        for number in range(LINES):
            words: list[str] = []
            length = 0
            while length < PROMPT_CHARS:
                words.append(f"{draw.choice(_WORDS)}{draw.randrange(1000)}")
                length += len(words[-1]) + 1
            prompt = " ".join(words)
            body = {"model": MINI, "input": prompt, "max_output_tokens": 16, "store": False}
            entry = {"custom_id": f"big-{number}", "method": "POST", "url": "/v1/responses"}
            file.write(orjson.dumps({**entry, "body": body}, option=orjson.OPT_APPEND_NEWLINE))
    return path


def test_a_workload_of_large_prompts_is_never_held_in_memory(tmp_path: Path) -> None:
    config = gateway_config(tmp_path)
    cells = {"cells": [{"model": "gpt-5.4-nano", "effort": "none"}]}
    # A small run first, so what is loaded once (the tokeniser, modules) is not counted.
    warm = experiment(small_workload(tmp_path / "small.jsonl"), candidates=cells, repeats=1)
    asyncio.run(run(warm, RunSettings(tmp_path / "warm"), config, env={}))
    workload = large_workload(tmp_path / "large.jsonl")
    size = workload.stat().st_size
    chosen = experiment(workload, candidates=cells, repeats=1, concurrency=4)

    tracemalloc.start()
    try:
        outcome = asyncio.run(run(chosen, RunSettings(tmp_path / "run"), config, env={}))
        summary = summarise(RunDir(outcome.run_dir), outcome)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert (outcome.completed, outcome.stopped) == (2 * LINES, None)
    assert summary.completed == 2 * LINES
    assert size > LINES * PROMPT_CHARS
    # Holding the parsed bodies alone would take about the file's size.
    assert peak < size / 4, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB workload"
