import re
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.replay.experiment import AS_WRITTEN, Cell
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import (
    RESULTS,
    STARTED,
    RunDir,
    RunDirError,
    RunManifest,
    new_run_id,
)


def _manifest() -> RunManifest:
    return RunManifest(
        run_id="run_1",
        created_at=1.0,
        cells=(Cell(AS_WRITTEN, None, True), Cell("gpt-5.4-mini", "low")),
        notes=("gpt-5.4-nano@xhigh skipped",),
        repeats=2,
        concurrency=4,
        spend_cap_usd=Decimal("1.50"),
        key="replay",
        upstream="emulator",
        tier="tier-1",
        workloads=("demo.jsonl",),
        lines=10,
    )


def test_the_manifest_reads_back_as_written(tmp_path: Path) -> None:
    manifest = _manifest()
    (tmp_path / "run.json").write_bytes(manifest.to_json())
    back = RunDir(tmp_path).manifest()
    assert back == manifest
    assert back.baseline.baseline
    assert back.calls == 2 * 10 * 2


def test_a_directory_without_a_manifest_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not a run directory"):
        RunDir(tmp_path).manifest()


def test_a_torn_last_row_is_not_a_row(tmp_path: Path) -> None:
    whole = ResultRow("m", "q-1", 0, "ok", 1.0).to_json()
    torn = ResultRow("m", "q-2", 0, "ok", 1.0).to_json()[:20]
    (tmp_path / RESULTS).write_bytes(whole + torn)
    (tmp_path / STARTED).write_bytes(b'["m","q-1",0]\n["m","q-2",0]\n["m","q-3"')
    run = RunDir(tmp_path)
    assert [row.custom_id for row in run.rows()] == ["q-1"]
    assert list(run.started()) == [("m", "q-1", 0), ("m", "q-2", 0)]


def test_a_damaged_row_is_named(tmp_path: Path) -> None:
    (tmp_path / RESULTS).write_bytes(b"[1]\n")
    with pytest.raises(RunDirError, match="damaged row"):
        list(RunDir(tmp_path).rows())


def test_a_run_id_is_short_says_when_it_started_and_differs_each_time() -> None:
    first, second = new_run_id(1_796_544_047.0), new_run_id(1_796_544_047.0)
    assert re.fullmatch(r"run_20261206-\d{6}-[0-9a-f]{6}", first)
    assert first != second
