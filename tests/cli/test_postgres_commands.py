"""The commands that read the ledger see a PostgreSQL ledger as they see an SQLite one: `usage`,
`keys list` (spend in each budget's window) and `route --explain` (lane profiles from the
ledger), on the real server, through the same config `laneway serve` reads."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from laneway.assembly import Assembly
from laneway.clock import SystemClock
from laneway.config import GatewayConfig
from laneway.keys.revocations import LocalRevocations
from laneway.keys.service import KeyService
from laneway.ledger.record import LedgerRecord
from laneway.quota.budget import parse_budget
from laneway.usage import Usage
from tests.cli.conftest import Run

NOW = time.time()
LANE = '[lanes.cheap]\npolicy = "cheapest"\ncandidates = ["gpt-5.4-mini", "gpt-5.4"]\n'


def record(n: int, model: str, key: str, cost: str | None, lane: str | None = None) -> LedgerRecord:
    return LedgerRecord(
        id=f"req_pg_{n}",
        created_at=NOW - 60,
        key_id=key,
        endpoint="responses",
        requested_model=model,
        stream=False,
        status="ok",
        answering_model=model,
        provider="openai",
        usage=Usage(1000, 300, cached_input_tokens=200),
        cost_usd=None if cost is None else Decimal(cost),
        lane=lane,
    )


@pytest.fixture
def config_file(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config naming the PostgreSQL ledger (its DSN in the default variable), holding a few
    records and a key with a daily budget; no SQLite file anywhere."""
    monkeypatch.setenv("LANEWAY_POSTGRES_DSN", postgres_url)
    monkeypatch.setenv("LANEWAY_LEDGER", str(tmp_path / "must-not-be-read.db"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = tmp_path / "laneway.toml"
    path.write_text(LANE + '[ledger]\nbackend = "postgres"\n', encoding="utf-8")
    with Assembly(GatewayConfig.load(path), {"LANEWAY_POSTGRES_DSN": postgres_url}) as parts:
        service = KeyService(parts.key_store, LocalRevocations(), SystemClock())
        key, _ = service.create("team-pg", budgets=(parse_budget("5/day"),))
        parts.ledger.settle(
            [
                record(1, "gpt-5.4-mini", key.id, "0.0012", lane="cheap"),
                record(2, "gpt-5.4-mini", key.id, "0.0030", lane="cheap"),
                record(3, "gpt-5.4", "key_other", "0.0100"),
            ]
        )
    return path


def test_usage_reads_the_postgres_ledger(run: Run, config_file: Path) -> None:
    result = run("usage", "--config", str(config_file), "--json")
    assert result.code == 0, result.err
    rows = {row["model"]: row for row in json.loads(result.out)}
    assert rows["gpt-5.4-mini"]["requests"] == 2
    assert Decimal(rows["gpt-5.4-mini"]["cost_usd"]) == Decimal("0.0042")
    assert Decimal(rows["gpt-5.4"]["cost_usd"]) == Decimal("0.0100")
    assert not (config_file.parent / "must-not-be-read.db").exists()


def test_keys_list_shows_spend_from_the_postgres_ledger(run: Run, config_file: Path) -> None:
    result = run("keys", "list", "--config", str(config_file), "--json")
    assert result.code == 0, result.err
    (key,) = json.loads(result.out)
    assert key["name"] == "team-pg"
    assert key["budgets"] == [{"window": "day", "usd": "5", "spent_usd": "0.0042"}]


def expected_mini(run: Run, config: Path, body: Path) -> Decimal:
    result = run("route", "--config", str(config), "--explain", str(body), "--json")
    assert result.code == 0, result.err
    explained = json.loads(result.out)
    assert explained["lane"] == "cheap"
    mini = next(c for c in explained["candidates"] if c["candidate"].startswith("gpt-5.4-mini@"))
    return Decimal(mini["expected_usd"])


def test_route_explain_prices_with_profiles_from_the_postgres_ledger(
    run: Run, config_file: Path, tmp_path: Path
) -> None:
    body = tmp_path / "request.json"
    body.write_text(orjson.dumps({"model": "lane:cheap", "input": "hi"}).decode())
    with_history = expected_mini(run, config_file, body)
    # The same lane over an empty SQLite ledger: no history, so the output is a typical answer
    # (1,024 tokens: $0.004608), as the router assumes before any answer.
    empty = tmp_path / "empty.toml"
    empty.write_text(LANE + f'[ledger]\npath = "{tmp_path / "empty.db"}"\n', encoding="utf-8")
    without = expected_mini(run, empty, body)
    # The two answers in the PostgreSQL ledger wrote 300 tokens each: 300 x $4.50/M.
    assert Decimal("0.00135") <= with_history < Decimal("0.0014")
    assert Decimal("0.004608") < without < Decimal("0.0047")
