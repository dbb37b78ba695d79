"""Three `laneway serve` processes sharing Redis (admission state) and PostgreSQL (ledger and
keys) in front of one emulator: budgets, rate limits and revocations hold across replicas.

Each cluster has a Redis server of its own (so one test can stop it) and a fresh PostgreSQL
database.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import psycopg
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from tests.gateway.serve_process import free_port
from tests.sdk import sdk
from tests.services import PrivateRedis, fresh_database

ADMIN_KEY = "admin-key-for-replica-tests-0123456789"
EMU_KEY = "sk-emulator-for-replicas"


@dataclass
class Cluster:
    emulator: EmulatorServer
    redis: PrivateRedis
    dsn: str
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]

    def url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.ports[replica]}"

    def admin(self, replica: int, method: str, path: str, **body: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url(replica)}/admin/{path}",
            headers={"authorization": f"Bearer {ADMIN_KEY}"},
            json=body if method == "POST" else None,
            timeout=10,
        )

    def create_key(self, **fields: Any) -> tuple[str, str]:
        answer = self.admin(0, "POST", "keys", **fields)
        assert answer.status_code == 201, answer.text
        view = answer.json()
        return view["key"], view["id"]

    def records(self, key_id: str) -> list[tuple[str, Decimal | None, str]]:
        """(status, cost, model) of every ledger row of a key, read from PostgreSQL."""
        with psycopg.connect(self.dsn) as connection:
            rows = connection.execute(
                "SELECT status, cost_usd, answering_model FROM requests WHERE key_id = %s",
                (key_id,),
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]


def write_config(
    path: Path, emulator: EmulatorServer, on_unavailable: str, lease_s: float = 30.0
) -> Path:
    path.write_text(
        f"""
[providers.emu]
kind = "openai-compatible"
base_url = "{emulator.base_url}"
api_key_env = "EMU_KEY"

[ledger]
backend = "postgres"

[state]
backend = "redis"
on_unavailable = "{on_unavailable}"
timeout_s = 2.0
lease_s = {lease_s}

[keys]
refresh_s = 30.0

[breaker]
consecutive_failures = 1000000
min_requests = 1000000
"""
    )
    return path


def start_replica(
    config: Path, port: int, dsn: str, redis_url: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EMU_KEY": EMU_KEY,
        "LANEWAY_POSTGRES_DSN": dsn,
        "LANEWAY_REDIS_URL": redis_url,
        "LANEWAY_ADMIN_KEY": ADMIN_KEY,
    }
    env.pop("LANEWAY_API_KEYS", None)
    command = [sys.executable, "-m", "laneway", "serve", "--config", str(config)]
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("laneway serve exited: " + log.read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("laneway serve did not start: " + log.read_text())


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=5, speed=0, tier="none")) as server:
        yield server


def cluster_of(
    emulator: EmulatorServer,
    tmp: Path,
    replicas: int,
    on_unavailable: str = "closed",
    *,
    lease_s: float = 30.0,
) -> Iterator[Cluster]:
    redis_server = PrivateRedis(free_port()).start()
    database = fresh_database()
    dsn = next(database)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        config = write_config(tmp / "laneway.toml", emulator, on_unavailable, lease_s)
        ports = [free_port() for _ in range(replicas)]
        logs = [tmp / f"replica-{index}.log" for index in range(replicas)]
        for port, log in zip(ports, logs, strict=True):
            processes.append(start_replica(config, port, dsn, redis_server.url, log))
        for port, process, log in zip(ports, processes, logs, strict=True):
            wait_ready(port, process, log)
        yield Cluster(emulator, redis_server, dsn, ports, processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        redis_server.stop()
        database.close()


@pytest.fixture(scope="module")
def cluster(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    yield from cluster_of(emulator, tmp_path_factory.mktemp("replicas"), 3)


async def spread(cluster: Cluster, key: str, requests: int, body: dict[str, Any]) -> Counter[str]:
    """`requests` concurrent calls, dealt round-robin over the replicas; outcomes by kind."""
    clients = [
        openai.AsyncOpenAI(base_url=cluster.url(i) + "/v1", api_key=key, max_retries=0)
        for i in range(len(cluster.ports))
    ]
    limit = asyncio.Semaphore(48)

    async def one(index: int) -> str:
        async with limit:
            try:
                await clients[index % len(clients)].responses.create(**body)
            except openai.RateLimitError as error:
                return str(error.code)
            except openai.APIStatusError as error:
                return f"status {error.status_code}"
            return "served"

    try:
        return Counter(await asyncio.gather(*(one(i) for i in range(requests))))
    finally:
        for client in clients:
            await client.close()


def emulator_bill(emulator: EmulatorServer) -> tuple[int, Decimal]:
    """Requests and USD the emulator billed, by its own usage and costs endpoints."""
    since = str(int(time.time()) - 86_400)
    headers = {"authorization": f"Bearer {EMU_KEY}"}
    usage = httpx.get(
        f"{emulator.base_url}/organization/usage/completions",
        params={"start_time": since, "bucket_width": "1d", "limit": "3"},
        headers=headers,
    ).json()
    costs = httpx.get(
        f"{emulator.base_url}/organization/costs",
        params={"start_time": since, "limit": "3"},
        headers=headers,
    ).json()
    requests = sum(
        result["num_model_requests"] for bucket in usage["data"] for result in bucket["results"]
    )
    usd = sum(
        (
            Decimal(str(result["amount"]["value"]))
            for bucket in costs["data"]
            for result in bucket["results"]
        ),
        Decimal(0),
    )
    return requests, usd


def test_a_budget_holds_across_three_replicas_and_the_ledger_matches_the_bill(
    cluster: Cluster,
) -> None:
    budget = Decimal("0.004")
    key, key_id = cluster.create_key(name="shared-budget", budgets=[f"{budget}/day"])
    billed_before = emulator_bill(cluster.emulator)
    body = {"model": "gpt-5.4-mini", "input": "Write a short paragraph.", "max_output_tokens": 64}

    outcomes = asyncio.run(spread(cluster, key, 300, body))

    assert set(outcomes) <= {"served", "insufficient_quota"}, outcomes
    served = outcomes["served"]
    assert 0 < served < 100, outcomes  # the budget covers a fraction of the 300
    time.sleep(0.5)  # settlements and ledger batches land within milliseconds
    rows = cluster.records(key_id)
    refused = [row for row in rows if row[0] == "refused"]
    assert len(refused) == 300 - served  # one record per request, refusals included
    rows = [row for row in rows if row[0] != "refused"]
    assert len(rows) == served  # every served request recorded once
    assert all(status == "ok" and cost is not None for status, cost, _ in rows)
    spent = sum((cost for _, cost, _ in rows if cost is not None), Decimal(0))
    assert 0 < spent <= budget
    billed_requests, billed_usd = emulator_bill(cluster.emulator)
    assert billed_requests - billed_before[0] == served
    assert billed_usd - billed_before[1] == spent
    # The shared counter agrees with the ledger (rounded up to whole nano-dollars per request).
    view = cluster.admin(2, "GET", f"keys/{key_id}").json()
    counted = Decimal(view["spend"][0]["spent_usd"])
    assert spent <= counted < spent + Decimal("1e-9") * served
    assert Decimal(view["spend"][0]["reserved_usd"]) == 0


def test_a_per_key_rpm_holds_across_replicas(cluster: Cluster) -> None:
    rpm = 20
    key, _ = cluster.create_key(name="shared-rpm", rpm=rpm)
    body = {"model": "gpt-5.4-nano", "input": "hi", "max_output_tokens": 16}
    started = time.monotonic()
    outcomes = asyncio.run(spread(cluster, key, 90, body))
    elapsed = time.monotonic() - started
    assert set(outcomes) <= {"served", "rate_limit_exceeded"}, outcomes
    # A minute's burst, plus what refills while the test runs: within one window's tolerance.
    assert rpm <= outcomes["served"] <= rpm + int(rpm * elapsed / 60) + 1, outcomes


def test_revoked_and_rotated_keys_fail_at_once_on_every_replica(cluster: Cluster) -> None:
    key, key_id = cluster.create_key(name="lifecycle")
    for replica in range(3):
        with sdk(cluster.url(replica) + "/v1", key) as client:
            assert client.responses.create(model="gpt-5.4-mini", input="hi").status == "completed"

    rotated = cluster.admin(1, "POST", f"keys/{key_id}/rotate")
    assert rotated.status_code == 200
    new_key = rotated.json()["key"]
    for replica in range(3):
        with (
            sdk(cluster.url(replica) + "/v1", key) as client,
            pytest.raises(openai.AuthenticationError),
        ):
            client.responses.create(model="gpt-5.4-mini", input="hi")
        with sdk(cluster.url(replica) + "/v1", new_key) as client:
            assert client.responses.create(model="gpt-5.4-mini", input="hi").status == "completed"

    assert cluster.admin(2, "POST", f"keys/{key_id}/revoke").status_code == 200
    for replica in range(3):
        with (
            sdk(cluster.url(replica) + "/v1", new_key) as client,
            pytest.raises(openai.AuthenticationError),
        ):
            client.responses.create(model="gpt-5.4-mini", input="hi")


@pytest.mark.parametrize("on_unavailable", ["closed", "open"])
def test_with_redis_stopped_requests_follow_the_configured_behaviour_and_all_are_recorded(
    emulator: EmulatorServer, tmp_path: Path, on_unavailable: str
) -> None:
    for cluster in cluster_of(emulator, tmp_path, 2, on_unavailable):
        key, key_id = cluster.create_key(name="redis-down", budgets=["5/day"], rpm=1000)
        body = {"model": "gpt-5.4-mini", "input": "hi", "max_output_tokens": 32}
        before = asyncio.run(spread(cluster, key, 10, body))
        assert before == Counter({"served": 10})

        ready = httpx.get(cluster.url(0) + "/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"]["state"] == "ok"

        cluster.redis.stop()
        time.sleep(1.1)  # past /readyz's one-second cache
        ready = httpx.get(cluster.url(0) + "/readyz", timeout=5)
        assert ready.json()["checks"]["state"].startswith("unreachable")
        assert ready.status_code == (503 if on_unavailable == "closed" else 200)
        during = asyncio.run(spread(cluster, key, 10, body))
        if on_unavailable == "closed":
            assert during == Counter({"status 503": 10})
        else:
            assert during == Counter({"served": 10})
        time.sleep(0.5)
        rows = cluster.records(key_id)
        served = before["served"] + during["served"]
        refused = [row for row in rows if row[0] == "refused"]
        assert len(refused) == during["status 503"]  # limits_unavailable, on record
        rows = [row for row in rows if row[0] != "refused"]
        assert len(rows) == served
        assert all(status == "ok" for status, _, _ in rows)
