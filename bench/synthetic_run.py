"""The frame of a synthetic replay run directory for the benches that need 40,000 rows without
making 40,000 calls (bench_stats, bench_report): its manifest and its graded workload. Each
bench writes its own results.jsonl."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from laneway.replay.experiment import Cell
from laneway.replay.run_dir import MANIFEST, WORKLOAD, RunManifest


def write_run_frame(
    path: Path, cells: Sequence[Cell], ids: Sequence[str], prompt: Callable[[str], str]
) -> None:
    """A finished run's manifest (one repeat, concurrency 16, tier-1, the emulator) and its
    workload: one Responses line per id on gpt-5.2, graded by json_fields."""
    manifest = RunManifest(
        "run_bench",
        1000.0,
        tuple(cells),
        (),
        1,
        16,
        None,
        "replay",
        "emulator",
        "tier-1",
        ("bench.jsonl",),
        len(ids),
    )
    (path / MANIFEST).write_bytes(manifest.to_json())
    with (path / WORKLOAD).open("wb") as file:
        for custom_id in ids:
            line = {
                "custom_id": custom_id,
                "method": "POST",
                "url": "/v1/responses",
                "body": {"model": "gpt-5.2", "input": prompt(custom_id)},
                "expect": {"json_fields": {"a": 1, "b": 2}},
            }
            file.write(orjson.dumps(line) + b"\n")
