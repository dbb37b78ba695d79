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


def test_moments() -> None:
    now = DAY1 + 1000
    assert parse_moment("24h", "--since", now) == now - 86_400
    assert parse_moment("30m", "--since", now) == now - 1800
    assert parse_moment("2026-01-01", "--since", now) == DAY1
    assert parse_moment("2026-01-01T01:00:00+01:00", "--since", now) == DAY1
    with pytest.raises(CliError):
        parse_moment("soon", "--until", now)
