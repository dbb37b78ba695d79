"""A stored response's calls through the gateway with the official SDK: retrieve, delete, input
items and cancel reach the deployment that made the response, for the key that made it only;
background responses are settled, budget and all, when they end. The emulator runs on a
`ManualClock`: a background response completes when a test moves it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from laneway.clock import ManualClock
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.price_list import shipped_prices
from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.server.run import GatewayServer
from tests.emulator.test_stored_responses import BACKGROUND_S, clock, emulator
from tests.gateway.conftest import gateway_config
from tests.gateway.test_affinity import two_providers
from tests.gateway.test_virtual_keys import ENV, admin, create_key
from tests.sdk import sdk

__all__ = ["clock", "emulator"]  # the emulator tests' fixtures, used by name: ManualClock time
BUDGET = "5/day"


def serve(
    emulator: EmulatorServer, ledger: Path, poll_s: float, give_up_s: float = 86_400
) -> GatewayServer:
    background = {"poll_s": poll_s, "give_up_s": give_up_s}
    config = gateway_config(emulator, ledger, keys={"refresh_s": 0.2}, background=background)
    return GatewayServer(config, ENV).start()


@pytest.fixture
def server(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    """Its poller waits an hour: only the client's own calls settle a background response."""
    running = serve(emulator, tmp_path / "ledger.db", poll_s=3600)
    yield running
    running.stop()


def record_of(server: GatewayServer, key_id: str) -> LedgerRecord:
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    (record,) = [r for r in assembly.ledger.between(None, None) if r.key_id == key_id]
    return record


def day_spend(server: GatewayServer, key_id: str) -> dict[str, Any]:
    spend = admin(server, "GET", f"keys/{key_id}").json()["spend"]
    return next(item for item in spend if item["window"] == "day")


def settled_as_billed(server: GatewayServer, emulator: EmulatorServer, key_id: str) -> None:
    """The record carries the emulator's bill for the call: usage, cost; nothing reserved."""
    record = record_of(server, key_id)
    assert record.status == "ok"
    billed = emulator.engine.bill.billed(record.upstream_request_id or "")
    assert billed is not None
    assert record.usage is not None
    assert record.usage.input_tokens == billed.usage.input_tokens
    assert record.usage.output_tokens == billed.usage.output_tokens
    prices = shipped_prices().find(billed.model)
    assert prices is not None
    assert record.cost_usd == prices.charge(billed.usage).total
    day = day_spend(server, key_id)
    assert Decimal(day["reserved_usd"]) == 0
    assert Decimal(day["spent_usd"]) - record.cost_usd < Decimal("1e-9")


def test_the_owner_retrieves_lists_and_deletes_and_no_other_key_sees_a_thing(
    server: GatewayServer,
) -> None:
    alice_key, alice = create_key(server, name="alice")
    bob_key, _ = create_key(server, name="bob")
    with sdk(server.base_url, alice_key) as owner, sdk(server.base_url, bob_key) as other:
        created = owner.responses.create(model="gpt-5.4-mini", input="Keep this between us.")
        assert owner.responses.retrieve(created.id).model_dump() == created.model_dump()
        (item,) = owner.responses.input_items.list(created.id).data
        assert item.type == "message"
        assert record_of(server, alice["id"]).response_id == created.id
        for call in (
            other.responses.retrieve,
            other.responses.input_items.list,
            other.responses.cancel,
            other.responses.delete,
        ):
            with pytest.raises(openai.NotFoundError, match="not found"):
                call(created.id)
        with pytest.raises(openai.BadRequestError, match="not found") as refused:
            other.responses.create(
                model="gpt-5.4-mini", input="What was it?", previous_response_id=created.id
            )
        assert refused.value.code == "previous_response_not_found"
        with pytest.raises(openai.NotFoundError):
            owner.responses.retrieve("resp_never_made")
        owner.responses.delete(created.id)
        with pytest.raises(openai.NotFoundError):
            owner.responses.retrieve(created.id)


def test_a_background_response_holds_its_budget_until_a_retrieve_sees_it_complete(
    server: GatewayServer, emulator: EmulatorServer, clock: ManualClock
) -> None:
    key, view = create_key(server, name="patient", budgets=[BUDGET])
    with sdk(server.base_url, key) as client:
        queued = client.responses.create(
            model="gpt-5.4-mini", input="Take your time.", background=True
        )
        assert queued.status == "queued"
        assert record_of(server, view["id"]).status == "reserved"
        assert Decimal(day_spend(server, view["id"])["reserved_usd"]) > 0
        assert client.responses.retrieve(queued.id).status == "queued"  # not ended: held
        assert record_of(server, view["id"]).status == "reserved"
        clock.advance(BACKGROUND_S)
        done = client.responses.retrieve(queued.id)
    assert done.status == "completed"
    settled_as_billed(server, emulator, view["id"])


def test_a_cancelled_background_response_is_settled_at_what_was_billed(
    server: GatewayServer, emulator: EmulatorServer, clock: ManualClock
) -> None:
    key, view = create_key(server, name="impatient", budgets=[BUDGET])
    with sdk(server.base_url, key) as client:
        queued = client.responses.create(
            model="gpt-5.4-mini", input="A long story, please.", background=True
        )
        clock.advance(BACKGROUND_S / 3)
        cancelled = client.responses.cancel(queued.id)
    assert cancelled.status == "cancelled"
    settled_as_billed(server, emulator, view["id"])
    assert "cancelled" in (record_of(server, view["id"]).error or "")


def test_deleting_a_running_background_response_settles_it_at_what_was_billed(
    server: GatewayServer, emulator: EmulatorServer, clock: ManualClock
) -> None:
    key, view = create_key(server, name="tidy", budgets=[BUDGET])
    with sdk(server.base_url, key) as client:
        queued = client.responses.create(model="gpt-5.4-mini", input="Never mind.", background=True)
        clock.advance(BACKGROUND_S / 2)
        assert client.responses.with_raw_response.delete(queued.id).http_response.json()["deleted"]
    settled_as_billed(server, emulator, view["id"])


def test_the_poller_settles_a_background_response_nobody_retrieves(
    emulator: EmulatorServer, clock: ManualClock, tmp_path: Path
) -> None:
    polled = serve(emulator, tmp_path / "polled.db", poll_s=0.02)
    try:
        key, view = create_key(polled, name="fire-and-forget", budgets=[BUDGET])
        with sdk(polled.base_url, key) as client:
            client.responses.create(model="gpt-5.4-mini", input="Later.", background=True)
        assert record_of(polled, view["id"]).status == "reserved"
        clock.advance(BACKGROUND_S)
        wait_for(lambda: record_of(polled, view["id"]).status != "reserved")
        settled_as_billed(polled, emulator, view["id"])
    finally:
        polled.stop()


def test_a_background_response_pending_past_give_up_is_left_to_reconcile(
    emulator: EmulatorServer, clock: ManualClock, tmp_path: Path
) -> None:
    impatient = serve(emulator, tmp_path / "given-up.db", poll_s=0.02, give_up_s=0.01)
    try:
        key, view = create_key(impatient, name="forgotten", budgets=[BUDGET])
        with sdk(impatient.base_url, key) as client:
            queued = client.responses.create(model="gpt-5.4-mini", input="Hm.", background=True)
            background = impatient.assembly.gateway.background if impatient.assembly else None
            assert background is not None
            wait_for(lambda: len(background) == 0)  # given up on
            clock.advance(BACKGROUND_S)
            assert client.responses.retrieve(queued.id).status == "completed"
        assert record_of(impatient, view["id"]).status == "reserved"  # for `laneway reconcile`
    finally:
        impatient.stop()


def wait_for(condition: Callable[[], bool], guard_s: float = 10.0) -> None:
    """Until `condition` holds; the guard only bounds a failure, no outcome depends on it."""
    deadline = time.monotonic() + guard_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_replicas_sharing_redis_find_a_response_made_on_another(
    tmp_path: Path, redis_namespace: str, redis_client: Any
) -> None:
    config = EmulatorConfig(speed=0, tier="none")
    keys = ["sk-alice-0123456789abcdef", "sk-bob-0123456789abcdef"]
    with EmulatorServer(config) as nano_only, EmulatorServer(config) as everything:

        def replica(name: str) -> GatewayServer:
            gateway = {
                "providers": two_providers(nano_only, everything),
                "state": {"backend": "redis", "namespace": redis_namespace},
                "server": {"port": 0, "api_keys": keys},
            }
            made = gateway_config(everything, tmp_path / f"{name}.db", **gateway)
            return GatewayServer(made, {"KEY": "sk-up"}).start()

        one, two = replica("one"), replica("two")  # each with a ledger of its own
        try:
            both_replicas_agree(one, two, keys, redis_namespace, redis_client)
        finally:
            one.stop()
            two.stop()


def both_replicas_agree(
    one: GatewayServer, two: GatewayServer, keys: list[str], namespace: str, redis: Any
) -> None:
    with sdk(one.base_url, keys[0]) as alice_one:
        opening = alice_one.responses.with_raw_response.create(model="gpt-5.4-mini", input="Hi")
    assert opening.headers["x-laneway-provider"] == "second"
    response_id = opening.parse().id
    wait_for(lambda: redis.exists(f"{namespace}:resp:{response_id}") == 1)  # sent after it
    assert 0 < redis.ttl(f"{namespace}:resp:{response_id}") <= 30 * 86400
    with sdk(two.base_url, keys[0]) as alice_two, sdk(two.base_url, keys[1]) as bob_two:
        assert alice_two.responses.retrieve(response_id).id == response_id
        follow_up = alice_two.responses.with_raw_response.create(
            model="gpt-5.4-nano", input="And again?", previous_response_id=response_id
        )
        assert follow_up.headers["x-laneway-provider"] == "second"  # "first" never saw it
        with pytest.raises(openai.NotFoundError):
            bob_two.responses.retrieve(response_id)
        with pytest.raises(openai.BadRequestError, match="not found"):
            bob_two.responses.create(
                model="gpt-5.4-nano", input="Peek.", previous_response_id=response_id
            )


def test_after_a_restart_the_ledger_knows_whose_a_response_is(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    keys = ["sk-carol-0123456789abcdef", "sk-dave-0123456789abcdef"]
    config = gateway_config(emulator, tmp_path / "kept.db", server={"port": 0, "api_keys": keys})
    with GatewayServer(config, ENV) as before, sdk(before.base_url, keys[0]) as carol:
        created = carol.responses.create(model="gpt-5.4-mini", input="Remember me.")
    with GatewayServer(config, ENV) as after:  # nothing in memory, no Redis: the ledger
        with sdk(after.base_url, keys[0]) as carol:
            assert carol.responses.retrieve(created.id).id == created.id
            carol.responses.create(
                model="gpt-5.4-mini", input="And now?", previous_response_id=created.id
            )
        with sdk(after.base_url, keys[1]) as dave, pytest.raises(openai.NotFoundError):
            dave.responses.retrieve(created.id)
