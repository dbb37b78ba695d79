"""`laneway replay recommend` and `laneway replay apply` through the command line: the lane's
traffic read from the config's ledger (replay runs left out), JSON, the diff, --write keeping
the file's comments, and the refusals (a file changed since the run, a run that recommends
nothing, another lane) as one line and exit 2."""

from __future__ import annotations

import json
import time
from pathlib import Path

from laneway.ledger.record import LedgerRecord
from laneway.ledger.sqlite import SQLiteLedger
from laneway.replay.apply import lane_edit
from laneway.replay.run_dir import RunDir
from laneway.replay.run_setup import CONFIG_FILE, CONFIG_HASH, file_sha256
from tests.cli.conftest import Run, assert_one_line_error
from tests.replay.decided_runs import MINI, NANO, NOISY, decided_run
from tests.replay.test_apply import CONFIG


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "laneway.toml"
    path.write_text(f'[ledger]\npath = "{tmp_path / "ledger.db"}"\n\n{CONFIG}')
    return path


def _run(tmp_path: Path, config: Path, *cells: object) -> RunDir:
    extra = {CONFIG_FILE: str(config), CONFIG_HASH: file_sha256(config)}
    return decided_run(tmp_path / "run", cells or (NANO, MINI), extra=extra)  # type: ignore[arg-type]


def _traffic(tmp_path: Path, requests: int) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    now = time.time()
    made = [
        LedgerRecord(f"r{n}", now - 3600, "k", "responses", "gpt-5.2", False, "ok", lane="legacy")
        for n in range(requests)
    ]
    replayed = LedgerRecord("x", now - 60, "k", "responses", "gpt-5.2", False, "ok",
                            lane="legacy", run_id="run_other")  # fmt: skip
    try:
        ledger.reserve([*made, replayed])
        ledger.settle([*made, replayed])
    finally:
        ledger.close()


def test_recommend_reads_the_lanes_traffic_from_the_ledger(tmp_path: Path, run: Run) -> None:
    config = _config(tmp_path)
    found = _run(tmp_path, config)
    _traffic(tmp_path, 14)  # 2 a day over the week, the replay run's record left out
    result = run("replay", "recommend", str(found.path), "--config", str(config))
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("move lane legacy from gpt-5.2 to gpt-5.4-mini at effort low: ")
    assert first.endswith(", saving $0.006/day at 2 requests/day (the last 7 days)")
    shown = run("replay", "recommend", str(found.path), "--config", str(config), "--json")
    value = json.loads(shown.out)
    assert value["pick"] == MINI.label
    assert value["traffic"] == {"requests": 14, "days": 7, "per_day": "2"}


def test_apply_prints_the_diff_and_writes_it_keeping_comments(tmp_path: Path, run: Run) -> None:
    config = _config(tmp_path)
    before = config.read_text()
    found = _run(tmp_path, config)
    shown = run("replay", "apply", str(found.path), "--lane", "legacy")
    assert shown.code == 0, shown.err
    expected = lane_edit(before, config, "legacy", "gpt-5.4-mini", "low")
    assert shown.out.splitlines()[0].startswith("# move lane legacy from gpt-5.2 to gpt-5.4-mini")
    assert expected.diff() in shown.out
    assert config.read_text() == before  # printed, not written
    written = run("replay", "apply", str(found.path), "--lane", "legacy", "--write")
    assert written.code == 0, written.err
    assert config.read_text() == expected.after
    assert "# what serves it today" in expected.after
    again = run("replay", "apply", str(found.path), "--lane", "legacy", "--write")
    assert_one_line_error(again, "changed since run run_test")


def test_apply_refuses_a_run_that_recommends_nothing(tmp_path: Path, run: Run) -> None:
    config = _config(tmp_path)
    found = _run(tmp_path, config, NANO, NOISY)
    result = run("replay", "apply", str(found.path), "--lane", "legacy", "--write")
    assert_one_line_error(result, "the run recommends nothing: no candidate is non-inferior")
    other = run("replay", "apply", str(_run(tmp_path, config).path), "--lane", "coding")
    assert_one_line_error(other, "the run measured lane legacy, not coding")
