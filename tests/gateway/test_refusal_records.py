"""Every authenticated request on record, refusals included: bad input, no such model, access,
budget, rate limit, a revoked key, and a 429 from upstream (its origin kept on its one record).
Library tests over in-memory transports first, then the server with virtual keys through the
official SDK, where requests without a valid key are only counted, never recorded."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import orjson
import pytest

from laneway.emulator.server import EmulatorServer
from laneway.gateway.client import Client
from laneway.gateway.observers import Observer
from laneway.gateway.refusals import REFUSALS, UNREAD_MODEL, refusal_of, upstream_refusal
from laneway.ledger.record import Attempt, LedgerRecord
from laneway.ledger.sqlite import SQLiteLedger
from laneway.server.render import render_error
from laneway.server.run import GatewayServer
from laneway.telemetry.trace_context import traceparent
from laneway.wire.errors import (
    ApiError,
    insufficient_quota,
    limits_resyncing,
    limits_unavailable,
    rate_limit_exceeded,
)
from tests.gateway.conftest import gateway_config
from tests.gateway.test_core_in_memory import CHAT, Answer, FakeTransport, Harness, chat_body
from tests.gateway.test_virtual_keys import ENV, admin
from tests.sdk import sdk

QUOTA = Answer(
    status=429,
    body=orjson.dumps(
        {"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota",
                   "param": None, "code": "insufficient_quota"}}
    ),
)  # fmt: skip


class Refusals(Observer):
    def __init__(self) -> None:
        self.seen: list[LedgerRecord] = []

    def refused(self, record: LedgerRecord) -> None:
        self.seen.append(record)


def refuse(harness: Harness, body: bytes, client: Client | None = None) -> ApiError:
    with pytest.raises(ApiError) as raised:
        asyncio.run(harness.gateway.handle("chat", body, client=client or Client("key_test")))
    return raised.value


# -- the library: Gateway.handle ---------------------------------------------------------------


def test_bad_input_gets_one_settled_record_and_observers_see_it(tmp_path: Path) -> None:
    watcher = Refusals()
    transport = FakeTransport()
    harness = Harness(tmp_path, transport, observers=[watcher])
    unreadable = refuse(harness, b"{not json")
    no_model = refuse(harness, orjson.dumps({"messages": []}))
    records = sorted(harness.records(), key=lambda r: r.created_at)
    harness.close()
    assert transport.sent == []
    assert [r.status for r in records] == ["refused", "refused"]
    for record, error in zip(records, (unreadable, no_model), strict=True):
        assert record.refusal == "bad_request"
        assert record.http_status == 400
        assert record.requested_model == UNREAD_MODEL
        assert record.key_id == "key_test"
        assert record.error == error.message
        assert record.settled_at is not None
        # The client's error names the record, as every recorded request's does.
        headers = dict(render_error(error).headers)
        assert headers["x-laneway-request-id"] == record.id
    assert [r.id for r in watcher.seen] == [r.id for r in records]


class Raising(Observer):
    def refused(self, record: LedgerRecord) -> None:
        raise RuntimeError("observer bug")


def test_an_observer_failing_on_a_refusal_never_loses_its_record(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeTransport(), observers=[Raising()])
    error = refuse(harness, b"[]")
    (record,) = harness.records()
    failures = harness.gateway.observers.failures
    harness.close()
    assert error.status == 400
    assert record.refusal == "bad_request"
    assert failures == {"Raising.refused": 1}


def test_an_unknown_lane_is_recorded_as_not_found(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeTransport())
    error = refuse(harness, orjson.dumps({"model": "lane:nowhere", "messages": []}))
    (record,) = harness.records()
    harness.close()
    assert error.status == 404
    assert (record.status, record.refusal, record.requested_model) == (
        "refused",
        "not_found",
        "lane:nowhere",
    )


def test_an_upstream_quota_429_keeps_its_one_record_with_the_upstream_origin(
    tmp_path: Path,
) -> None:
    harness = Harness(tmp_path, FakeTransport(*[QUOTA] * 10), fallbacks={})
    error = refuse(harness, CHAT)
    (record,) = harness.records()  # never a second record for the refusal
    harness.close()
    assert error.status == 429
    assert (record.status, record.http_status) == ("error", 429)
    assert record.refusal == "upstream:insufficient_quota"
    assert record.attempts  # it reached the upstream


def test_an_answered_request_has_no_refusal(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeTransport(Answer(body=chat_body())))
    harness.call()
    (record,) = harness.records()
    harness.close()
    assert (record.status, record.refusal) == ("ok", None)


def test_origins_are_read_from_the_error_into_the_closed_set() -> None:
    assert refusal_of(insufficient_quota("budget x")) == "budget"
    assert refusal_of(rate_limit_exceeded("rpm", "requests", 1.0)) == "rate_limit"
    assert refusal_of(ApiError(403, "no", code="permission_denied")) == "access"
    assert refusal_of(ApiError(400, "bad")) == "bad_request"
    assert refusal_of(ApiError(404, "no lane", code="lane_not_found")) == "not_found"
    assert refusal_of(limits_unavailable()) == "limits_unavailable"
    assert refusal_of(limits_resyncing()) == "limits_resyncing"
    upstream = [Attempt("p0", "m", 429, 1.0)]
    paced = [Attempt("p0", "m", None, 0.0, "paced")]
    assert upstream_refusal(insufficient_quota("x"), upstream) == "upstream:insufficient_quota"
    limited = rate_limit_exceeded("x", "requests", 1.0)
    assert upstream_refusal(limited, upstream) == "upstream:rate_limit_exceeded"
    assert upstream_refusal(limited, paced) == "pacing"
    assert upstream_refusal(ApiError(502, "down"), upstream) is None
    every = {refusal_of(ApiError(s, "x")) for s in (400, 401, 403, 404, 429, 503)}
    assert every <= REFUSALS


# -- the server: keys, limits, and requests without a valid key -------------------------------


@pytest.fixture
def server(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    config = gateway_config(emulator, tmp_path / "ledger.db", keys={"refresh_s": 0.2})
    with GatewayServer(config, ENV) as running:
        yield running


def create_key(server: GatewayServer, **fields: Any) -> tuple[str, str]:
    answer = admin(server, "POST", "keys", **fields)
    assert answer.status_code == 201, answer.text
    view = answer.json()
    return view["key"], view["id"]


def ask(server: GatewayServer, key: str, model: str = "gpt-5.4-mini", **extra: Any) -> Any:
    with sdk(server.base_url, key) as client:
        return client.responses.create(model=model, input="Say hi.", **extra)


def records_of(server: GatewayServer, key_id: str) -> list[LedgerRecord]:
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    found = [r for r in assembly.ledger.between(None, None) if r.key_id == key_id]
    return sorted(found, key=lambda r: r.created_at)


def test_access_rate_limit_and_budget_refusals_are_on_record(server: GatewayServer) -> None:
    key, key_id = create_key(server, name="limited", lanes=["coding"], rpm=1)
    with pytest.raises(openai.PermissionDeniedError):
        ask(server, key, "gpt-5.4")
    ask(server, key, "lane:coding", max_output_tokens=50)
    with pytest.raises(openai.RateLimitError) as limited:
        ask(server, key, "lane:coding", max_output_tokens=50)
    poor, poor_id = create_key(server, name="poor", budgets=["0.001/day"])
    with pytest.raises(openai.RateLimitError):
        ask(server, poor)  # its worst case, even under laneway's output cap, is over it
    access, served, rate = records_of(server, key_id)
    (budget,) = records_of(server, poor_id)
    assert (access.status, access.refusal, access.http_status) == ("refused", "access", 403)
    assert access.requested_model == "gpt-5.4"
    assert served.status == "ok"
    assert (rate.status, rate.refusal, rate.http_status) == ("refused", "rate_limit", 429)
    assert rate.lane == "coding"
    assert rate.error is not None
    assert rate.error in limited.value.message
    assert limited.value.response.headers["x-laneway-request-id"] == rate.id
    assert (budget.status, budget.refusal, budget.requested_model) == (
        "refused",
        "budget",
        "gpt-5.4-mini",
    )


def test_a_revoked_key_is_recorded_under_its_id_and_unknown_bearers_only_counted(
    server: GatewayServer, caplog: pytest.LogCaptureFixture
) -> None:
    key, key_id = create_key(server, name="gone")
    assert admin(server, "POST", "keys/gone/revoke").status_code == 200
    with pytest.raises(openai.AuthenticationError):
        ask(server, key)
    unknown = "lw-zzzzzzzzzz-" + "q" * 52
    with caplog.at_level(logging.DEBUG):
        for bearer in (unknown, "sk-some-other-secret-0123456789", unknown):
            with pytest.raises(openai.AuthenticationError):
                ask(server, bearer)
        missing = httpx.post(f"{server.base_url}/responses", json={"model": "x"}, timeout=10)
        listing = httpx.get(
            f"{server.base_url}/models", headers={"authorization": f"Bearer {unknown}"}
        )
    assert missing.status_code == 401
    assert listing.status_code == 401  # a listing has no record, but it is counted
    (revoked,) = records_of(server, key_id)
    assert (revoked.status, revoked.refusal, revoked.http_status) == ("refused", "revoked", 401)
    assert revoked.requested_model == "gpt-5.4-mini"
    assembly = server.assembly
    assert assembly is not None
    path = assembly.ledger_path
    assert path is not None
    everything = list(assembly.ledger.between(None, None))
    assert all(r.key_id == key_id for r in everything if r.status == "refused")
    server.stop()  # flushes the counts, closes the ledger
    ledger = SQLiteLedger(path)
    counts = ledger.unauthenticated(None, None)
    ledger.close()
    assert {(reason, client): n for _, reason, client, n in counts} == {
        ("invalid_key", "127.0.0.1"): 4,
        ("missing_key", "127.0.0.1"): 1,
    }
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for secret in (unknown, "sk-some-other-secret-0123456789"):
        assert secret.encode() not in stored
        assert secret not in caplog.text


def test_a_revoked_keys_401_continues_the_callers_trace(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The server's 401 for a revoked key is recorded with the request's headers: with
    `[tracing]` on, its record and its error response carry the caller's trace id."""
    caller = 0x0AF7651916CD43DD8448EB211C80319C
    sections = {"keys": {"refresh_s": 0.2}, "tracing": {"exporter": "none"}}
    config = gateway_config(emulator, tmp_path / "ledger.db", **sections)
    with GatewayServer(config, ENV) as server:
        key, key_id = create_key(server, name="gone")
        assert admin(server, "POST", "keys/gone/revoke").status_code == 200
        header = {"traceparent": traceparent(caller, 0xB7AD6B7169203331, True)}
        with pytest.raises(openai.AuthenticationError) as refused:
            ask(server, key, extra_headers=header)
        (record,) = records_of(server, key_id)
    assert record.refusal == "revoked"
    assert record.trace_id == f"{caller:032x}"
    assert refused.value.response.headers["x-laneway-trace-id"] == f"{caller:032x}"


def test_the_unauthenticated_table_is_written_through_the_writer_as_upserts(
    tmp_path: Path,
) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    ledger.add_unauthenticated([(60.0, "invalid_key", "10.0.0.1", 2)])
    ledger.add_unauthenticated([(60.0, "invalid_key", "10.0.0.1", 3), (0.0, "x", "y", 1)])
    assert ledger.unauthenticated(None, None) == [
        (0.0, "x", "y", 1),
        (60.0, "invalid_key", "10.0.0.1", 5),
    ]
    assert ledger.unauthenticated(60.0, None) == [(60.0, "invalid_key", "10.0.0.1", 5)]
    ledger.close()
    rows = sqlite3.connect(tmp_path / "ledger.db").execute("SELECT count(*) FROM unauthenticated")
    assert rows.fetchone()[0] == 2
