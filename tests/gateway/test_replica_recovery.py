"""Replicas recovering shared state, as real `laneway serve` processes over a Redis of their own,
PostgreSQL and the emulator: Redis restarted with its data lost (budgets re-seeded from the
ledger before anything is admitted under them again), and a replica killed with reservations
held (another reaps them once its lease lapses)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from tests.gateway.test_replicas import Cluster, cluster_of

BODY = {"model": "gpt-5.4-mini", "input": "Write a short paragraph.", "max_output_tokens": 64}
AFTER_A_LOSS = {"limits_unavailable", "limits_resyncing", "insufficient_quota"}


@pytest.fixture(scope="module")
def emulator() -> Any:
    with EmulatorServer(EmulatorConfig(seed=7, speed=0, tier="none")) as server:
        yield server


async def ask(client: openai.AsyncOpenAI, body: dict[str, Any]) -> str:
    """ "served", or the error's code."""
    try:
        await client.responses.create(**body)
    except openai.APIStatusError as error:
        code = str(error.code or f"status {error.status_code}")
        headers = error.response.headers
        answer = (error.status_code, headers.get("retry-after"), headers.get("x-should-retry"))
        if code == "limits_resyncing" and answer != (503, "1", "true"):  # retry, soon
            code += f" answered {answer}"
        return code
    return "served"


def clients(cluster: Cluster, key: str) -> list[openai.AsyncOpenAI]:
    return [
        openai.AsyncOpenAI(base_url=cluster.url(i) + "/v1", api_key=key, max_retries=0)
        for i in range(len(cluster.ports))
    ]


def spent(cluster: Cluster, key_id: str) -> Decimal:
    """The key's settled spend in the ledger, once the replicas' batches have landed."""
    time.sleep(0.5)
    return sum((cost for _, cost, _ in cluster.records(key_id) if cost is not None), Decimal(0))


def nothing_reserved(cluster: Cluster, key_id: str) -> bool:
    """The key holds no reservation now (every answer so far settled), as the admin API says."""
    view = cluster.admin(0, "GET", f"keys/{key_id}").json()
    return all(Decimal(budget["reserved_usd"]) == 0 for budget in view["spend"])


def restart_redis(cluster: Cluster) -> None:
    cluster.redis.stop()  # killed; it keeps nothing on disk
    cluster.redis.start()


async def near_the_limit_then_restart(
    cluster: Cluster, key: str, key_id: str, body: dict[str, Any]
) -> tuple[Counter[str], list[str]]:
    """Requests one at a time until the budget refuses one with nothing else reserved (the room
    left is then less than a worst case), Redis restarted, then 20 more, then one on each
    replica once resynced."""
    replicas = clients(cluster, key)
    try:
        for turn in range(200):
            if await ask(replicas[turn % 2], body) != "insufficient_quota":
                continue
            # A settlement rides the replica's next pipeline: the refusal may have counted the
            # last answer's worst case still reserved. Only a refusal with nothing reserved
            # shows the budget truly full.
            for _ in range(200):
                if await asyncio.to_thread(nothing_reserved, cluster, key_id):
                    break
                await asyncio.sleep(0.01)
            if await ask(replicas[turn % 2], body) == "insufficient_quota":
                break
        else:
            raise AssertionError("the budget was never reached")
        await asyncio.to_thread(restart_redis, cluster)
        after = Counter([await ask(replicas[turn % 2], body) for turn in range(20)])
        for _ in range(100):  # each replica resyncs once it has noticed
            settled_down = [await ask(replica, body) for replica in replicas]
            if "limits_resyncing" not in settled_down:
                break
            await asyncio.sleep(0.05)
    finally:
        for replica in replicas:
            await replica.close()
    return after, settled_down


def test_a_budget_near_its_limit_is_not_admitted_again_after_redis_loses_its_data(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    for cluster in cluster_of(emulator, tmp_path, 2):
        budget = Decimal("0.02")
        key, key_id = cluster.create_key(name="near-limit", budgets=[f"{budget}/day"])
        body = {**BODY, "max_output_tokens": 400}
        after, settled_down = asyncio.run(near_the_limit_then_restart(cluster, key, key_id, body))
        # Before the fix these were served: Redis counted the day from nothing.
        assert set(after) <= AFTER_A_LOSS, after
        assert settled_down == ["insufficient_quota"] * 2
        assert spent(cluster, key_id) <= budget


def load_with_a_restart(
    cluster: Cluster, key: str, requests: int, body: dict[str, Any]
) -> tuple[Counter[str], Counter[str]]:
    """`requests` concurrent calls over the replicas; Redis is restarted (its data lost) once
    the budget first refuses one. Outcomes before and after the restart began."""
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()

    async def main() -> None:
        replicas = clients(cluster, key)
        limit = asyncio.Semaphore(48)
        refused = asyncio.Event()
        restarting = asyncio.Event()

        async def one(index: int) -> None:
            async with limit:
                tally = after if restarting.is_set() else before
                outcome = await ask(replicas[index % len(replicas)], body)
                tally[outcome] += 1
                if outcome == "insufficient_quota":
                    refused.set()

        async def restart() -> None:
            await refused.wait()
            restarting.set()
            await asyncio.to_thread(restart_redis, cluster)

        restarter = asyncio.create_task(restart())
        try:
            await asyncio.gather(*(one(i) for i in range(requests)))
            await asyncio.wait_for(restarter, 20)
        finally:
            for replica in replicas:
                await replica.close()

    asyncio.run(main())
    return before, after


@pytest.mark.parametrize(
    "requests", [pytest.param(90, id="90"), pytest.param(300, id="300", marks=pytest.mark.slow)]
)
def test_redis_restarted_under_load_across_three_replicas_never_lets_spend_pass_the_budget(
    emulator: EmulatorServer, tmp_path: Path, requests: int
) -> None:
    for cluster in cluster_of(emulator, tmp_path, 3):
        budget = Decimal("0.004") * requests / 300
        key, key_id = cluster.create_key(name="restarted", budgets=[f"{budget}/day"])
        started = time.monotonic()
        before, after = load_with_a_restart(cluster, key, requests, BODY)
        elapsed = time.monotonic() - started
        # Those sent before the restart may be answered during it.
        assert set(before) | set(after) <= {"served"} | AFTER_A_LOSS, (before, after)
        assert sum(after.values()) > 0  # the restart came while requests still ran
        settled = spent(cluster, key_id)
        print(  # noqa: T201 - the figures the report quotes (pytest -s)
            f"{requests} requests in {elapsed:.1f}s: before {dict(before)}, after {dict(after)}; "
            f"spent {settled} of {budget}"
        )
        assert 0 < settled <= budget
        rows = cluster.records(key_id)
        # Every request on record once: those served, and each refusal as a refused record.
        assert len(rows) == requests
        assert len([row for row in rows if row[0] != "refused"]) == (
            before["served"] + after["served"]
        )


def test_a_killed_replicas_reservations_are_reaped_by_another_within_its_lease(
    tmp_path: Path,
) -> None:
    lease_s = 3.0  # short, yet long enough for a replica on a busy machine to renew in time
    # Real-time pacing: a long answer streams for seconds, time to kill the replica mid-way.
    with EmulatorServer(EmulatorConfig(seed=3, speed=1, tier="none")) as realtime:
        for cluster in cluster_of(realtime, tmp_path, 2, lease_s=lease_s):
            key, key_id = cluster.create_key(name="killed", budgets=["5/day"])
            body = {"model": "gpt-5.4", "input": "Write a long story.", "stream": True}
            with httpx.stream(
                "POST",
                cluster.url(0) + "/v1/responses",
                json=body,
                headers={"authorization": f"Bearer {key}"},
                timeout=10,
            ) as answer:
                assert answer.status_code == 200
                request_id = answer.headers["x-laneway-request-id"]
                chunks = answer.iter_bytes()  # kept: dropping it would close the stream
                assert b"response.created" in next(chunks)
                listed = cluster.admin(1, "GET", "reservations").json()
                [held] = listed["data"]
                assert held["id"] == request_id
                assert held["owner"].startswith("replica:")
                cluster.processes[0].send_signal(signal.SIGKILL)  # settles nothing
                killed = time.monotonic()
                cluster.processes[0].wait(10)
            while cluster.admin(1, "GET", "reservations").json()["data"]:
                assert time.monotonic() - killed < lease_s * 4 + 5, "never reaped"
                time.sleep(0.1)
            reaped_after = time.monotonic() - killed
            print(f"reaped {reaped_after:.2f}s after the kill, lease {lease_s}s")  # noqa: T201
            # Its lease lapses within lease_s of its last renewal; a pass every lease_s / 3.
            assert reaped_after <= lease_s * 2 + 1.5, reaped_after
            [spend] = cluster.admin(1, "GET", f"keys/{key_id}").json()["spend"]
            assert Decimal(spend["reserved_usd"]) == 0
            assert Decimal(spend["spent_usd"]) == 0  # never settled in the ledger: released
            assert [status for status, _, _ in cluster.records(key_id)] == ["reserved"]
