"""`laneway usage` over a real SQLite ledger."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.cli.errors import CliError
from laneway.cli.time_range import parse_moment
from laneway.ledger.record import LedgerRecord
from laneway.ledger.sqlite import SQLiteLedger
from laneway.usage import Usage
from tests.cli.conftest import Run, assert_one_line_error

DAY1 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def record(n: int, at: float, model: str, key: str, **changes: object) -> LedgerRecord:
    base = LedgerRecord(
        id=f"lw_{n}", created_at=at, key_id=key, endpoint="chat", requested_model=model,
        stream=False, status="ok", answering_model=model, provider="emulator",
        usage=Usage(1000, 200, cached_input_tokens=100, reasoning_tokens=50),
        cost_usd=Decimal("0.0045"),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    ledger.settle(
        [
            record(1, DAY1 + 10, "gpt-5.2", "key_a"),
            record(2, DAY1 + 20, "gpt-5.2", "key_b"),
            record(3, DAY1 + 86_400 + 5, "gpt-5.4-mini", "key_a", cost_usd=Decimal("0.0012")),
            record(4, DAY1 + 86_400 + 9, "gpt-5.4-nano", "key_a", cost_usd=None),
            record(5, DAY1 + 30, "gpt-5.2", "key_a", status="error", usage=None, cost_usd=None),
        ]
    )
    ledger.reserve([record(6, DAY1 + 40, "gpt-5.2", "key_b", status="reserved", usage=None,
                           cost_usd=None)])  # fmt: skip
    ledger.close()
    return path


def test_json_by_model(run: Run, ledger_path: Path) -> None:
    result = run("usage", "--ledger", str(ledger_path), "--json")
    assert result.code == 0
    rows = {row["model"]: row for row in json.loads(result.out)}
    old = rows["gpt-5.2"]
    assert (old["requests"], old["failed"], old["unsettled"]) == (4, 1, 1)
    assert old["input_tokens"] == 2000
    # The unsettled request's cost is unknown: the total is too; the known part is kept.
    assert old["cost_usd"] is None
    assert old["known_cost_usd"] == "0.009"
    assert rows["gpt-5.4-mini"]["cost_usd"] == "0.0012"
    assert rows["gpt-5.4-nano"]["cost_usd"] is None
    assert "unknown cost" in result.err
    assert "never settled" in result.err


def test_group_by_day_and_time_range(run: Run, ledger_path: Path) -> None:
    rows = json.loads(run("usage", "--ledger", str(ledger_path), "--json", "--group-by", "day").out)
    assert [(r["day"], r["requests"]) for r in rows] == [("2026-01-01", 4), ("2026-01-02", 2)]
    rows = json.loads(
        run("usage", "--ledger", str(ledger_path), "--json", "--group-by", "key",
            "--since", "2026-01-02").out
    )  # fmt: skip
    assert [(r["key"], r["requests"], r["cost_usd"]) for r in rows] == [("key_a", 2, None)]


def test_csv_and_table(run: Run, ledger_path: Path) -> None:
    out = run("usage", "--ledger", str(ledger_path), "--csv", "--group-by", "provider").out
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["provider"] == "emulator"
    assert row["requests"] == "6"
    assert row["cost_usd"] == ""
    table = run("usage", "--ledger", str(ledger_path)).out
    assert "gpt-5.4-mini" in table
    assert "$0.009 + ?" in table


def test_errors(run: Run, tmp_path: Path, ledger_path: Path) -> None:
    assert_one_line_error(run("usage", "--ledger", str(tmp_path / "none.db")), "no ledger at")
    assert_one_line_error(
        run("usage", "--ledger", str(ledger_path), "--since", "yesterday"), "--since", "not a time"
    )
    assert_one_line_error(run("usage", "--ledger", str(ledger_path), "--json", "--csv"), "not both")
    assert_one_line_error(
        run("usage", "--ledger", str(ledger_path), "--refusals", "--csv"), "not --csv"
    )


def test_moments() -> None:
    now = DAY1 + 1000
    assert parse_moment("24h", "--since", now) == now - 86_400
    assert parse_moment("30m", "--since", now) == now - 1800
    assert parse_moment("2026-01-01", "--since", now) == DAY1
    assert parse_moment("2026-01-01T01:00:00+01:00", "--since", now) == DAY1
    with pytest.raises(CliError):
        parse_moment("soon", "--until", now)


@pytest.fixture
def refusals_ledger(tmp_path: Path) -> Path:
    """Two answers, three refusals by laneway, one by upstream, and unauthenticated counts."""
    path = tmp_path / "refusals.db"
    ledger = SQLiteLedger(path)
    refused = {"status": "refused", "usage": None, "cost_usd": None, "answering_model": None}
    ledger.settle(
        [
            record(1, DAY1 + 10, "gpt-5.2", "key_a"),
            record(2, DAY1 + 11, "gpt-5.2", "key_a"),
            record(3, DAY1 + 12, "gpt-5.2", "key_a", http_status=429, refusal="budget", **refused),
            record(4, DAY1 + 13, "gpt-5.2", "key_b", http_status=429, refusal="rate_limit",
                   **refused),
            record(5, DAY1 + 14, "(unread)", "key_b", http_status=400, refusal="bad_request",
                   **refused),
            record(6, DAY1 + 15, "gpt-5.2", "key_a", status="error", usage=None, cost_usd=None,
                   http_status=429, refusal="upstream:insufficient_quota"),
        ]
    )  # fmt: skip
    ledger.add_unauthenticated(
        [(DAY1, "invalid_key", "10.0.0.1", 40), (DAY1, "missing_key", "10.0.0.2", 2)]
    )
    ledger.add_unauthenticated([(DAY1, "invalid_key", "10.0.0.1", 5)])
    ledger.close()
    return path


def test_refusals_are_counted_apart_and_cost_nothing(run: Run, refusals_ledger: Path) -> None:
    result = run("usage", "--ledger", str(refusals_ledger), "--json", "--group-by", "day")
    assert result.code == 0
    [row] = json.loads(result.out)
    # One record per request: refusals are requests, counted apart from failures.
    assert (row["requests"], row["refused"], row["failed"]) == (6, 3, 1)
    # A refusal cost nothing: the total stays known.
    assert row["cost_usd"] == "0.009"
    assert "unknown cost" not in result.err


def test_refusals_view_by_reason_with_unauthenticated_totals(
    run: Run, refusals_ledger: Path
) -> None:
    result = run("usage", "--ledger", str(refusals_ledger), "--refusals", "--json")
    assert result.code == 0, result.err
    view = json.loads(result.out)
    assert view["refused"] == {
        "bad_request": 1,
        "budget": 1,
        "rate_limit": 1,
        "upstream:insufficient_quota": 1,
    }
    assert view["unauthenticated"] == {"invalid_key": 45, "missing_key": 2}
    assert view["unauthenticated_clients"] == 2
    text = run("usage", "--ledger", str(refusals_ledger)).out
    assert "Refusals" in text
    assert "upstream:insufficient_quota" in text
    assert "invalid_key" in text
    assert "45" in text


def test_group_by_lane(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "lanes.db"
    ledger = SQLiteLedger(path)
    ledger.settle(
        [
            record(1, DAY1, "gpt-5.4-nano", "key_a", lane="extraction"),
            record(2, DAY1 + 1, "gpt-5.4-mini", "key_a", lane="extraction"),
            record(3, DAY1 + 2, "gpt-5.2", "key_a"),
        ]
    )
    ledger.close()
    rows = json.loads(run("usage", "--ledger", str(path), "--group-by", "lane", "--json").out)
    assert [(row["lane"], row["requests"]) for row in rows] == [("(none)", 1), ("extraction", 2)]


def test_until_before_since_is_one_line(run: Run, ledger_path: Path) -> None:
    result = run("usage", "--ledger", str(ledger_path), "--since", "2026-01-02",
                 "--until", "2026-01-01")  # fmt: skip
    assert_one_line_error(result, "--until (2026-01-01) is not after --since (2026-01-02)")


def test_one_record_by_id_in_full(run: Run, ledger_path: Path) -> None:
    shown = run("usage", "--ledger", str(ledger_path), "--id", "lw_3", "--json")
    assert shown.code == 0, shown.err
    data = json.loads(shown.out)
    assert (data["id"], data["requested_model"], data["key_id"]) == (
        "lw_3",
        "gpt-5.4-mini",
        "key_a",
    )
    assert data["cost_usd"] == "0.0012"
    assert data["usage"]["input_tokens"] == 1000
    assert data["created_at"].startswith("2026-01-02T00:00:05")
    text = run("usage", "--ledger", str(ledger_path), "--id", "lw_3")
    assert text.code == 0, text.err
    assert "requested_model" in text.out
    assert "gpt-5.4-mini" in text.out
    assert_one_line_error(run("usage", "--ledger", str(ledger_path), "--id", "lw_99"), "'lw_99'")


def test_keys_are_shown_by_name(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "laneway.toml"
    config.write_text('[ledger]\npath = "ledger.db"\n', encoding="utf-8")
    created = run("keys", "create", "--config", str(config), "--name", "team-a", "--json")
    key_id = json.loads(created.out)["id"]
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    ledger.settle([record(1, DAY1, "gpt-5.2", key_id), record(2, DAY1, "gpt-5.2", "key_static")])
    ledger.close()
    rows = json.loads(run("usage", "--config", str(config), "--group-by", "key", "--json").out)
    assert [(row["key"], row["key_id"]) for row in rows] == [
        ("key_static", "key_static"),
        ("team-a", key_id),
    ]
    table = run("usage", "--config", str(config), "--group-by", "key").out
    assert "team-a" in table


def test_replay_runs_are_shown_apart_from_traffic(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    ledger.settle(
        [
            record(1, DAY1, "gpt-5.2", "key_a"),
            record(2, DAY1, "gpt-5.2", "replay:replay", run_id="run_a"),
            record(3, DAY1, "gpt-5.4-mini", "replay:replay", run_id="run_a"),
            record(4, DAY1, "gpt-5.2", "replay:replay", run_id="run_b", cost_usd=Decimal(1)),
        ]
    )
    ledger.close()
    rows = json.loads(run("usage", "--ledger", str(path), "--json").out)
    assert [(r["replay_run"], r["model"], r["requests"], r["cost_usd"]) for r in rows] == [
        (None, "gpt-5.2", 1, "0.0045"),  # the traffic: no run's records in it
        ("run_a", "gpt-5.2", 1, "0.0045"),
        ("run_a", "gpt-5.4-mini", 1, "0.0045"),
        ("run_b", "gpt-5.2", 1, "1"),
    ]
    one = json.loads(run("usage", "--ledger", str(path), "--json", "--run", "run_a").out)
    assert [(r["replay_run"], r["model"]) for r in one] == [
        ("run_a", "gpt-5.2"),
        ("run_a", "gpt-5.4-mini"),
    ]
    table = run("usage", "--ledger", str(path))
    assert table.code == 0, table.err
    traffic, _, replays = table.out.partition("Replay runs (not traffic) by model")
    assert "run_a" not in traffic
    assert "run_a" in replays
    assert "run_b" in replays
    assert_one_line_error(
        run("usage", "--ledger", str(path), "--run", "run_c"), "no records of replay run 'run_c'"
    )
