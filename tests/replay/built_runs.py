"""Run directories built by hand for the summary's tests: a manifest, the shipped catalog, the
workload lines and the rows, exactly as given."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from laneway.pricing.catalog import SHIPPED_CATALOG
from laneway.replay.experiment import Cell
from laneway.replay.graders import Grade
from laneway.replay.rows import ResultRow, RowStatus, RowUsage
from laneway.replay.run_dir import (
    CATALOG,
    MANIFEST,
    RESULTS,
    STARTED,
    WORKLOAD,
    RunDir,
    RunManifest,
)
from laneway.wire.answers import AnswerView

BASELINE = Cell("gpt-5.2", "none", True)
CANDIDATE = Cell("gpt-5.4-mini", "low")


def line(custom_id: str, expect: Any = None, **body: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/responses",
        "body": {"model": "gpt-5.2", "input": f"question {custom_id}", **body},
    }
    if expect is not None:
        value["expect"] = expect
    return value


def row(
    cell: Cell,
    custom_id: str,
    status: RowStatus = "ok",
    *,
    cost: str | None = "0",
    latency_ms: float | None = 100.0,
    attempts: int = 1,
    text: str | None = None,
    grades: Sequence[Grade] = (),
    repeat: int = 0,
    started_at: float = 1000.0,
    **fields: Any,
) -> ResultRow:
    answer = None if text is None else AnswerView(text)
    if answer is None and status == "ok":
        answer = AnswerView(f"answer to {custom_id}")
    return ResultRow(
        cell=cell.label,
        custom_id=custom_id,
        repeat=repeat,
        status=status,
        started_at=started_at,
        attempts=attempts,
        usage=fields.pop("usage", RowUsage(10, 0, 5, 0) if status == "ok" else None),
        cost_usd=None if cost is None else Decimal(cost),
        latency_ms=latency_ms,
        output=answer,
        grades=tuple(grades),
        **fields,
    )


def build_run(
    path: Path,
    lines: Sequence[dict[str, Any]],
    rows: Iterable[ResultRow],
    *,
    cells: Sequence[Cell] = (BASELINE, CANDIDATE),
    tier: str | None = "tier-1",
    upstream: str = "emulator",
    repeats: int = 1,
    started: Iterable[tuple[str, str, int]] = (),
    graders: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> RunDir:
    path.mkdir(parents=True, exist_ok=True)
    manifest = RunManifest(
        run_id="run_test",
        created_at=1000.0,
        cells=tuple(cells),
        notes=(),
        repeats=repeats,
        concurrency=4,
        spend_cap_usd=None,
        key="replay",
        upstream=upstream,
        tier=tier,
        workloads=("test.jsonl",),
        lines=len(lines),
        graders=tuple(graders),
        extra=extra or {},
    )
    (path / MANIFEST).write_bytes(manifest.to_json())
    (path / CATALOG).write_bytes(SHIPPED_CATALOG.read_bytes())
    (path / WORKLOAD).write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    (path / RESULTS).write_bytes(b"".join(r.to_json() for r in rows))
    (path / STARTED).write_bytes(b"".join(orjson.dumps(list(s)) + b"\n" for s in started))
    return RunDir(path)
