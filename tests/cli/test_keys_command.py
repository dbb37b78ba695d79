"""`laneway keys` end to end: a config file, a real ledger (SQLite or PostgreSQL), real Redis."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from laneway.keys.model import VirtualKey
from laneway.keys.postgres_store import PostgresKeyStore
from laneway.keys.secret import find_by_secret
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.keys.store import KeyStore
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.record import LedgerRecord
from laneway.ledger.sqlite import SQLiteLedger
from laneway.quota.windows import window_start
from tests.cli.conftest import Run, assert_one_line_error
from tests.services import REDIS_URL

KEY_LINE = re.compile(r"lw-[a-z2-7]{10}-[a-z2-7]{52}\n")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANEWAY_CONFIG", "LANEWAY_LEDGER", "LANEWAY_POSTGRES_DSN", "LANEWAY_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "laneway.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def sqlite_config(tmp_path: Path) -> str:
    return write_config(tmp_path, '[ledger]\npath = "data/ledger.db"\n')


def lookup(store: KeyStore, secret: str) -> VirtualKey | None:
    try:
        return find_by_secret(secret, store.by_prefix)
    finally:
        store.close()


def record(n: int, at: float, key_id: str, cost: str | None, **extra: object) -> LedgerRecord:
    return LedgerRecord(
        id=f"lw_{n}", created_at=at, key_id=key_id, endpoint="chat",
        requested_model="gpt-5.4-mini", stream=False, status="ok",
        cost_usd=None if cost is None else Decimal(cost), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def spend_records(key_id: str) -> list[LedgerRecord]:
    """Spend in each window, the records on their edges: today's start, this month's start,
    just before it, plus records that count for nothing."""
    now = time.time()
    day, month = window_start("day", now), window_start("month", now)
    assert day is not None
    assert month is not None
    return [
        record(1, day, key_id, "1.25"),
        record(2, month, key_id, "2.50"),
        record(3, month - 0.001, key_id, "4.000000001"),
        record(4, day, "vk_someone_else", "100"),
        record(5, day, key_id, None),  # unknown cost
        record(6, day, key_id, "7", shadow=True),
    ]


def expected_spend() -> dict[str, str]:
    now = time.time()
    first_of_month = window_start("day", now) == window_start("month", now)
    return {
        "day": "3.75" if first_of_month else "1.25",
        "month": "3.75",
        "lifetime": "7.750000001",
    }


def test_create_prints_the_key_once_and_it_opens_the_store(
    run: Run, sqlite_config: str, tmp_path: Path
) -> None:
    created = run(
        "keys", "create", "--config", sqlite_config, "--name", "team-a",
        "--budget", "50/day", "--budget", "1000/month", "--rpm", "600", "--tpm", "2M",
        "--lanes", "coding,extraction", "--models", "gpt-5.4-mini", "--expires", "30d",
    )  # fmt: skip
    assert created.code == 0, created.err
    assert KEY_LINE.fullmatch(created.out), created.out
    secret = created.out.strip()
    assert "only time the key is shown" in created.err
    assert secret not in created.err
    # Relative to the config file, like the ledger itself.
    key = lookup(SQLiteKeyStore(tmp_path / "data" / "ledger.db"), secret)
    assert key is not None
    assert (key.name, key.rpm, key.tpm) == ("team-a", 600, 2_000_000)
    assert key.lanes == ("coding", "extraction")
    assert key.models == ("gpt-5.4-mini",)
    assert [str(b) for b in key.budgets] == ["50/day", "1000/month"]
    assert key.expires_at is not None
    assert abs(key.expires_at - (time.time() + 30 * 86_400)) < 60
    assert key.prefix in created.err


def test_list_shows_limits_and_spend_but_never_a_secret(
    run: Run, sqlite_config: str, tmp_path: Path
) -> None:
    created = run(
        "keys", "create", "--config", sqlite_config, "--name", "team-a",
        "--budget", "50/day", "--budget", "1000/month", "--budget", "20/lifetime",
        "--lanes", "coding",
    )  # fmt: skip
    secret = created.out.strip()
    other = run("keys", "create", "--config", sqlite_config, "--name", "team-b", "--json")
    assert other.code == 0, other.err
    other_secret = json.loads(other.out)["key"]
    assert KEY_LINE.fullmatch(other_secret + "\n")
    key = lookup(SQLiteKeyStore(tmp_path / "data" / "ledger.db"), secret)
    assert key is not None
    ledger = SQLiteLedger(tmp_path / "data" / "ledger.db")
    ledger.settle(spend_records(key.id))
    ledger.close()

    listed = run("keys", "list", "--config", sqlite_config, "--json")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert [row["name"] for row in rows] == ["team-a", "team-b"]
    first = rows[0]
    assert first["prefix"] == key.prefix
    assert first["id"] == key.id
    assert first["status"] == "active"
    assert first["lanes"] == ["coding"]
    spend = expected_spend()
    assert first["budgets"] == [
        {"window": "day", "usd": "50", "spent_usd": spend["day"]},
        {"window": "month", "usd": "1000", "spent_usd": spend["month"]},
        {"window": "lifetime", "usd": "20", "spent_usd": spend["lifetime"]},
    ]
    assert rows[1]["budgets"] == []
    table = run("keys", "list", "--config", sqlite_config)
    assert table.code == 0, table.err
    assert key.prefix in table.out
    assert "team-b" in table.out
    assert f"${spend['lifetime']} of $20.00/lifetime" in table.out
    for output in (listed.out, listed.err, table.out, table.err):
        for shown in (secret, other_secret, secret.rsplit("-", 1)[1], key.digest):
            assert shown not in output


def test_revoke_announces_to_redis_and_list_shows_it(
    run: Run, tmp_path: Path, redis_namespace: str
) -> None:
    config = write_config(
        tmp_path,
        f'[ledger]\npath = "ledger.db"\n\n[state]\nbackend = "redis"\nurl = "{REDIS_URL}"\n'
        f'namespace = "{redis_namespace}"\n',
    )
    secret = run("keys", "create", "--config", config, "--name", "team-a").out.strip()
    key = lookup(SQLiteKeyStore(tmp_path / "ledger.db"), secret)
    assert key is not None
    revoked = run("keys", "revoke", "--config", config, "team-a")
    assert revoked.code == 0, revoked.err
    assert revoked.out == f"Revoked key 'team-a' ({key.prefix}).\n"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.sismember(f"{redis_namespace}:revoked", key.prefix)
    finally:
        client.close()
    [row] = json.loads(run("keys", "list", "--config", config, "--json").out)
    assert row["status"] == "revoked"
    assert row["revoked_at"] is not None
    # Revoking it again says so (and announces it again: the retry after a failed one).
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.srem(f"{redis_namespace}:revoked", key.prefix)
        again = run("keys", "revoke", "--config", config, key.prefix)
        assert client.sismember(f"{redis_namespace}:revoked", key.prefix)
    finally:
        client.close()
    assert again.code == 0, again.err
    assert again.out.startswith(f"Key 'team-a' ({key.prefix}) was already revoked, at ")
    assert "Revoked key" not in again.out
    # The name is not reused: that would make two rows named team-a.
    reused = run("keys", "create", "--config", config, "--name", "team-a")
    assert_one_line_error(reused, f"revoked key {key.prefix} was named 'team-a'", "never reused")
    assert len(json.loads(run("keys", "list", "--config", config, "--json").out)) == 1


def test_the_first_key_warns_that_an_open_gateway_closes(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LANEWAY_API_KEYS", raising=False)
    config = write_config(tmp_path, '[ledger]\npath = "ledger.db"\n')
    first = run("keys", "create", "--config", config, "--name", "team-a")
    assert first.code == 0, first.err
    assert "warning: this is the first client key" in first.err
    assert "refuses every client without a key" in " ".join(first.err.split())
    second = run("keys", "create", "--config", config, "--name", "team-b")
    assert second.code == 0, second.err
    assert "warning" not in second.err
    # A gateway with configured client keys was never open: no warning.
    keyed = tmp_path / "keyed"
    keyed.mkdir()
    config = write_config(keyed, '[ledger]\npath = "ledger.db"\n[server]\napi_keys = ["sk-a"]\n')
    assert "warning" not in run("keys", "create", "--config", config, "--name", "team-a").err


def test_rotate_prints_a_new_key_and_the_old_one_stops_working(
    run: Run, sqlite_config: str, tmp_path: Path
) -> None:
    old_secret = run("keys", "create", "--config", sqlite_config, "--name", "team-a").out.strip()
    path = tmp_path / "data" / "ledger.db"
    old = lookup(SQLiteKeyStore(path), old_secret)
    assert old is not None
    rotated = run("keys", "rotate", "--config", sqlite_config, old.prefix)
    assert rotated.code == 0, rotated.err
    assert KEY_LINE.fullmatch(rotated.out)
    new_secret = rotated.out.strip()
    assert "only time the key is shown" in rotated.err
    assert lookup(SQLiteKeyStore(path), old_secret) is None
    new = lookup(SQLiteKeyStore(path), new_secret)
    assert new is not None
    assert new.id == old.id
    assert f"{old.prefix} no longer works" in rotated.err
    again = run("keys", "rotate", "--config", sqlite_config, "team-a", "--json")
    assert again.code == 0, again.err
    shown = json.loads(again.out)
    assert shown["id"] == old.id
    assert lookup(SQLiteKeyStore(path), shown["key"]) is not None
    assert lookup(SQLiteKeyStore(path), new_secret) is None


@pytest.fixture
def postgres_config(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # The DSN from the environment, as a deployment would give it (it may hold a password).
    monkeypatch.setenv("LANEWAY_POSTGRES_DSN", postgres_url)
    return write_config(tmp_path, '[ledger]\nbackend = "postgres"\n')


def test_keys_in_postgresql_end_to_end(run: Run, postgres_config: str, postgres_url: str) -> None:
    created = run(
        "keys", "create", "--config", postgres_config, "--name", "team-a",
        "--budget", "50/day", "--budget", "20/lifetime", "--tpm", "150k",
    )  # fmt: skip
    assert created.code == 0, created.err
    secret = created.out.strip()
    key = lookup(PostgresKeyStore(postgres_url), secret)
    assert key is not None
    assert key.tpm == 150_000
    ledger = PostgresLedger(postgres_url)
    ledger.settle(spend_records(key.id))
    ledger.close()
    listed = run("keys", "list", "--config", postgres_config, "--json")
    assert listed.code == 0, listed.err
    [row] = json.loads(listed.out)
    spend = expected_spend()
    assert row["budgets"] == [
        {"window": "day", "usd": "50", "spent_usd": spend["day"]},
        {"window": "lifetime", "usd": "20", "spent_usd": spend["lifetime"]},
    ]
    assert secret not in listed.out
    rotated = run("keys", "rotate", "--config", postgres_config, "team-a")
    assert rotated.code == 0, rotated.err
    assert lookup(PostgresKeyStore(postgres_url), secret) is None
    new = lookup(PostgresKeyStore(postgres_url), rotated.out.strip())
    assert new is not None
    assert new.id == key.id
    revoked = run("keys", "revoke", "--config", postgres_config, key.id)
    assert revoked.code == 0, revoked.err
    [row] = json.loads(run("keys", "list", "--config", postgres_config, "--json").out)
    assert row["status"] == "revoked"


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--tpm", "lots"], ["--tpm:", "'lots' is not a count"]),
        (["--rpm", "0"], ["--rpm:", "more than zero"]),
        (["--budget", "5/week"], ["--budget:", "window is one of"]),
        (["--budget", "5/day", "--budget", "6/day"], ["--budget:", "two budgets for the day"]),
        (["--expires", "soon"], ["--expires:", "not a duration"]),
        (["--lanes", ","], ["--lanes:", "names nothing"]),
        (["--lanes", "bad lane"], ["lanes:", "'bad lane' is not a valid name"]),
        (["--lanes", "coding,nope"], ["lanes:", "no lane named nope", "coding, extraction"]),
    ],
)
def test_bad_values_are_one_line_errors(
    run: Run, sqlite_config: str, arguments: list[str], fragments: list[str]
) -> None:
    result = run("keys", "create", "--config", sqlite_config, "--name", "team-a", *arguments)
    assert_one_line_error(result, *fragments)
    assert json.loads(run("keys", "list", "--config", sqlite_config, "--json").out) == []


def test_store_errors_are_one_line_errors(run: Run, sqlite_config: str) -> None:
    assert_one_line_error(run("keys", "create", "--config", sqlite_config), "--name")
    assert_one_line_error(
        run("keys", "create", "--config", sqlite_config, "--name", "vk_x"), "name:"
    )
    assert run("keys", "create", "--config", sqlite_config, "--name", "team-a").code == 0
    assert_one_line_error(
        run("keys", "create", "--config", sqlite_config, "--name", "team-a"),
        "'team-a' already exists",
    )
    assert_one_line_error(
        run("keys", "revoke", "--config", sqlite_config, "team-z"), "no key has", "'team-z'"
    )
    assert_one_line_error(run("keys", "rotate", "--config", sqlite_config, "team-z"), "no key has")
    assert run("keys", "revoke", "--config", sqlite_config, "team-a").code == 0
    assert_one_line_error(
        run("keys", "rotate", "--config", sqlite_config, "team-a"), "is revoked", "create a new"
    )


def test_unreachable_services_are_one_line_errors_without_credentials(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, '[ledger]\npath = "ledger.db"\n\n[state]\nbackend = "redis"\n')
    monkeypatch.setenv("LANEWAY_REDIS_URL", "redis://laneway:hunter2-secret@127.0.0.1:1/0")
    assert run("keys", "create", "--config", config, "--name", "team-a").code == 0
    failed = run("keys", "revoke", "--config", config, "team-a")
    assert_one_line_error(failed, "is revoked in the key store", "cannot reach Redis")
    assert "hunter2" not in failed.err

    postgres = write_config(tmp_path, '[ledger]\nbackend = "postgres"\n')
    monkeypatch.setenv("LANEWAY_POSTGRES_DSN", "postgresql://laneway:hunter2-secret@127.0.0.1:1/x")
    failed = run("keys", "list", "--config", postgres)
    assert_one_line_error(failed, "cannot reach the PostgreSQL key store")
    assert "hunter2" not in failed.err
    monkeypatch.delenv("LANEWAY_POSTGRES_DSN")
    assert_one_line_error(run("keys", "list", "--config", postgres), "LANEWAY_POSTGRES_DSN")


def test_models_must_be_known_and_a_case_variant_is_read_as_its_model(
    run: Run, sqlite_config: str, tmp_path: Path
) -> None:
    refused = run("keys", "create", "--config", sqlite_config, "--name", "a", "--models", "gpt-99")
    assert_one_line_error(refused, "models: unknown model 'gpt-99'", "no provider lists it")
    typo = run(
        "keys", "create", "--config", sqlite_config, "--name", "a", "--models", "gpt-5.4-minii"
    )
    assert_one_line_error(typo, "Did you mean 'gpt-5.4-mini'")
    created = run("keys", "create", "--config", sqlite_config, "--name", "a", "--models", "GPT-5.4")
    assert created.code == 0, created.err
    key = lookup(SQLiteKeyStore(tmp_path / "data" / "ledger.db"), created.out.strip())
    assert key is not None
    assert key.models == ("gpt-5.4",)
