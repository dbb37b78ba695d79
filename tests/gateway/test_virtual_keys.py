"""Virtual keys, budgets and rate limits through the official SDK, in one gateway process with
in-memory admission state, in front of the emulator. (Several replicas sharing Redis and
PostgreSQL: tests/gateway/test_replicas.py.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.gateway.conftest import PROVIDER_KEY, gateway_config
from tests.sdk import sdk

ADMIN_KEY = "admin-secret-for-tests-0123456789"
ENV = {"EMU_KEY": PROVIDER_KEY, "LANEWAY_ADMIN_KEY": ADMIN_KEY}


@pytest.fixture
def server(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    config = gateway_config(emulator, tmp_path / "ledger.db", keys={"refresh_s": 0.2})
    with GatewayServer(config, ENV) as running:
        yield running


def admin(server: GatewayServer, method: str, path: str, **body: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"http://127.0.0.1:{server.port}/admin/{path}",
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
        json=body if method == "POST" else None,
        timeout=10,
    )


def create_key(server: GatewayServer, **fields: Any) -> tuple[str, dict[str, Any]]:
    answer = admin(server, "POST", "keys", **fields)
    assert answer.status_code == 201, answer.text
    view = answer.json()
    return view.pop("key"), view


def ask(server: GatewayServer, key: str, model: str = "gpt-5.4-mini", **extra: Any) -> Any:
    with sdk(server.base_url, key) as client:
        return client.responses.create(model=model, input="Say hi.", **extra)


def test_a_key_works_until_revoked_and_a_rotated_key_leaves_its_old_secret_dead(
    server: GatewayServer,
) -> None:
    key, view = create_key(server, name="team-a")
    assert key.startswith("lw-")
    assert view["prefix"] in key
    assert view["status"] == "active"
    assert ask(server, key).status == "completed"

    rotated = admin(server, "POST", f"keys/{view['id']}/rotate")
    assert rotated.status_code == 200
    new_key = rotated.json()["key"]
    assert new_key != key
    with pytest.raises(openai.AuthenticationError):
        ask(server, key)
    assert ask(server, new_key).status == "completed"

    first = admin(server, "POST", "keys/team-a/revoke")
    assert (first.status_code, first.json()["already_revoked"]) == (200, False)
    assert first.json()["status"] == "revoked"
    # Idempotent, and says so.
    again = admin(server, "POST", "keys/team-a/revoke")
    assert (again.status_code, again.json()["already_revoked"]) == (200, True)
    with pytest.raises(openai.AuthenticationError) as refused:
        ask(server, new_key)
    assert "revoked" in str(refused.value)
    listing = admin(server, "GET", "keys").text
    assert new_key not in listing
    assert key not in listing


def test_requests_are_recorded_under_the_keys_id_not_its_secret(server: GatewayServer) -> None:
    key, view = create_key(server, name="recorded")
    answer = ask(server, key)
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    records = [r for r in assembly.ledger.between(None, None) if r.key_id == view["id"]]
    assert len(records) == 1
    assert records[0].status == "ok"
    assert answer.id  # the answer went through


def test_once_a_virtual_key_exists_unknown_keys_get_401(server: GatewayServer) -> None:
    assert ask(server, "anything").status == "completed"  # no key of any kind yet: open
    create_key(server, name="first")
    with pytest.raises(openai.AuthenticationError):
        ask(server, "lw-aaaaaaaaaa-" + "a" * 52)
    with pytest.raises(openai.AuthenticationError):
        ask(server, "not-a-key")  # once virtual keys exist, the gateway is no longer open


def test_a_key_reaches_only_its_lanes_and_models(server: GatewayServer) -> None:
    lanes_key, _ = create_key(server, name="coder", lanes=["coding"])
    assert ask(server, lanes_key, "lane:coding").status == "completed"
    # `auto` from a key with lanes goes to its first lane
    with sdk(server.base_url, lanes_key) as client:
        raw = client.responses.with_raw_response.create(model="auto", input="hi")
    assert raw.headers["x-laneway-lane"] == "coding"
    with pytest.raises(openai.PermissionDeniedError) as denied:
        ask(server, lanes_key, "gpt-5.4")
    assert denied.value.status_code == 403
    assert "coding" in denied.value.message
    with pytest.raises(openai.PermissionDeniedError):
        ask(server, lanes_key, "lane:frontier")

    models_key, _ = create_key(server, name="mini-only", models=["gpt-5.4-mini"])
    assert ask(server, models_key, "gpt-5.4-mini").status == "completed"
    with pytest.raises(openai.PermissionDeniedError):
        ask(server, models_key, "gpt-5.4")


def test_a_worst_case_beyond_the_budget_is_refused_naming_the_budget(
    server: GatewayServer,
) -> None:
    # gpt-5.4-mini without max_output_tokens gets laneway's cap (4,096 tokens: ~$0.018), over
    # $0.001 (test_request_shapes.py has the rest of the refusal's text).
    key, view = create_key(server, name="small", budgets=["0.001/day"])
    with pytest.raises(openai.RateLimitError) as refused:
        ask(server, key)
    error = refused.value
    assert error.status_code == 429
    assert error.code == "insufficient_quota"
    assert error.type == "insufficient_quota"
    assert f"key:{view['id']}:day" in error.message
    assert error.response.headers["x-should-retry"] == "false"
    # With a small max_output_tokens the worst case fits, and the request is served.
    assert ask(server, key, max_output_tokens=100).status == "completed"


def burst(
    server: GatewayServer,
    key: str,
    times: int,
    send: Callable[[openai.AsyncOpenAI], Awaitable[object]],
) -> list[str]:
    """`send` `times` at once with `key`, no retries: "served" or each refusal's code."""

    async def one(client: openai.AsyncOpenAI) -> str:
        try:
            await send(client)
        except openai.RateLimitError as error:
            return str(error.code)
        return "served"

    async def run() -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=key, max_retries=0
        ) as client:
            return await asyncio.gather(*(one(client) for _ in range(times)))

    return asyncio.run(run())


def test_concurrent_requests_never_spend_past_the_budget(server: GatewayServer) -> None:
    budget = Decimal("0.002")
    key, view = create_key(server, name="concurrent", budgets=[f"{budget}/day"])

    async def send(client: openai.AsyncOpenAI) -> object:
        return await client.responses.create(
            model="gpt-5.4-mini", input="Write a paragraph.", max_output_tokens=400
        )

    outcomes = burst(server, key, 60, send)
    assert set(outcomes) <= {"served", "insufficient_quota"}
    served = outcomes.count("served")
    assert 0 < served < 60
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    records = [r for r in assembly.ledger.between(None, None) if r.key_id == view["id"]]
    refusals = [r for r in records if r.status == "refused"]
    assert len(refusals) == 60 - served  # one record per request, refusals included
    assert {r.refusal for r in refusals} == {"budget"}
    records = [r for r in records if r.status != "refused"]
    assert len(records) == served  # refusals reached no upstream
    spent = sum((r.cost_usd or Decimal(0) for r in records), Decimal(0))
    assert 0 < spent <= budget
    listed = admin(server, "GET", f"keys/{view['id']}").json()
    day = next(item for item in listed["spend"] if item["window"] == "day")
    assert Decimal(day["spent_usd"]) >= spent  # settled counter, rounded up to nano-dollars
    assert Decimal(day["spent_usd"]) - spent < Decimal("1e-9") * served
    assert Decimal(day["reserved_usd"]) == 0


def test_rpm_refuses_with_retry_after(server: GatewayServer) -> None:
    key, _ = create_key(server, name="paced", rpm=3)
    for _ in range(3):
        ask(server, key, max_output_tokens=50)
    with pytest.raises(openai.RateLimitError) as refused:
        ask(server, key, max_output_tokens=50)
    error = refused.value
    assert error.code == "rate_limit_exceeded"
    assert error.type == "requests"
    assert int(error.response.headers["retry-after"]) >= 1
    assert "Limit 3" in error.message


def test_a_soft_threshold_is_logged_once_per_window(
    server: GatewayServer, caplog: pytest.LogCaptureFixture
) -> None:
    key, view = create_key(server, name="soft", budgets=["0.002/day"])
    refused = False
    with caplog.at_level(logging.WARNING, logger="laneway.quota"):
        for _ in range(80):  # small answers (~$0.00007 each) until the budget refuses
            try:
                ask(server, key, max_output_tokens=16)
            except openai.RateLimitError:
                refused = True
                break
    assert refused
    crossings = [r for r in caplog.records if "soft threshold" in r.getMessage()]
    assert len(crossings) == 1
    assert f"key:{view['id']}:day" in crossings[0].getMessage()
    day = admin(server, "GET", f"keys/{view['id']}").json()["spend"][0]
    assert day["soft_reached"] is True


def test_the_admin_api_needs_the_admin_key(server: GatewayServer) -> None:
    answer = httpx.get(
        f"http://127.0.0.1:{server.port}/admin/keys",
        headers={"authorization": "Bearer wrong"},
        timeout=5,
    )
    assert answer.status_code == 401
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    bad = admin(server, "POST", "keys", name="x", budgets=["5/week"])
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "budgets"
    unknown = admin(server, "POST", "keys", name="x", lanes=["coding", "nope"])
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "lanes"
    assert "no lane named nope" in unknown.json()["error"]["message"]


def test_a_restart_does_not_hand_a_budget_its_window_again(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    # Key and global budgets both: after a restart, memory state is seeded from the ledger.
    config = gateway_config(emulator, tmp_path / "ledger.db", budgets={"global": "0.01/month"})
    with GatewayServer(config, ENV) as first:
        key, view = create_key(first, name="restarted", budgets=["0.002/day"])
        for _ in range(80):
            try:
                ask(first, key, max_output_tokens=16)
            except openai.RateLimitError:
                break
        else:
            pytest.fail("the budget never refused")
        spent_before = admin(first, "GET", f"keys/{view['id']}").json()["spend"][0]["spent_usd"]
        global_before = admin(first, "GET", "budgets").json()["data"][0]["spent_usd"]
    with GatewayServer(config, ENV) as second:
        with pytest.raises(openai.RateLimitError) as refused:
            ask(second, key, max_output_tokens=16)
        assert refused.value.code == "insufficient_quota"
        after = admin(second, "GET", f"keys/{view['id']}").json()["spend"][0]
        assert after["spent_usd"] == spent_before
        assert Decimal(after["spent_usd"]) > Decimal("0.0015")
        assert admin(second, "GET", "budgets").json()["data"][0]["spent_usd"] == global_before
