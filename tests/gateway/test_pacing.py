"""Upstream pacing end to end: the gateway keeps under a deployment's limits before upstream
has said anything, spills to the next candidate, answers 429 with retry-after when none has room,
and shares the count across replicas through Redis."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from laneway.config import GatewayConfig, ModelRoute
from laneway.emulator.config import EmulatorConfig, Latency
from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.pricing.model_spec import TierLimit
from tests.gateway.conftest import Running, gateway_config, start
from tests.sdk import sdk

NANO = "gpt-5.4-nano"
MINI = "gpt-5.4-mini"
FULL = "gpt-5.4"
LIMITS = {NANO: TierLimit(rpm=3, tpm=1_000_000), FULL: TierLimit(rpm=2, tpm=1_000_000)}


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Enforces the same small limits the gateway paces under (fresh per test: the buckets).
    nano takes 0.5 s to answer, so a burst is all in flight before any headers come back."""
    instant = Latency(ttft_s=0, tokens_per_s=1e9)
    config = EmulatorConfig(
        seed=3,
        tier="none",
        rate_limits=LIMITS,
        latency={NANO: Latency(ttft_s=0.5, tokens_per_s=1e9), MINI: instant, FULL: instant},
    )
    with EmulatorServer(config) as emu:
        yield emu


def paced_config(emulator: EmulatorServer, ledger: Path, **sections: Any) -> GatewayConfig:
    config = gateway_config(emulator, ledger, **sections)
    provider = config.providers["emu"].model_copy(update={"rate_limits": dict(LIMITS)})
    assert provider.paced  # an openai-compatible provider paces once it lists limits
    return config.model_copy(
        update={
            "providers": {"emu": provider},
            "models": {NANO: ModelRoute(fallbacks=(MINI,))},
        }
    )


def upstream_statuses(records: list[LedgerRecord]) -> list[int | None]:
    return [attempt.status for record in records for attempt in record.attempts]


def test_a_burst_stays_under_the_limit_and_spills_before_upstream_says_anything(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    server, sleep = start(paced_config(emulator, tmp_path / "ledger.db"))
    with server:
        running = Running(server, sleep)
        with sdk(running.base_url, "sk-any") as client, ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda n: (
                        client.chat.completions.create(
                            model=NANO, messages=[{"role": "user", "content": f"item {n}"}]
                        ).model
                    ),
                    range(8),
                )
            )
        records = running.records()
    # Concurrent, so no response headers could warn the gateway: pacing alone held nano at 3.
    assert sum(model.startswith(NANO) for model in answers) == 3
    assert sum(model.startswith(MINI) for model in answers) == 5
    statuses = upstream_statuses(records)
    assert 429 not in statuses  # upstream never refused: nothing was sent over its limit
    assert statuses.count(None) == 5  # the five held back, each logged as paced
    paced = [a.error for r in records for a in r.attempts if a.status is None]
    assert all(reason and reason.startswith("paced: RPM limit 3 full for") for reason in paced)


def test_no_candidate_with_room_is_a_429_with_retry_after_and_nothing_sent(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    server, sleep = start(paced_config(emulator, tmp_path / "ledger.db"))
    with server:
        running = Running(server, sleep)
        body = {"model": FULL, "input": "hello"}
        url = f"{running.base_url}/responses"
        auth = {"authorization": "Bearer sk-any"}
        for _ in range(2):
            assert httpx.post(url, json=body, headers=auth).status_code == 200
        refused = httpx.post(url, json=body, headers=auth)
        with sdk(running.base_url, "sk-any") as client, pytest.raises(openai.RateLimitError):
            client.responses.create(model=FULL, input="hello")
        records = running.records()
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == "requests"
    assert "Limit 2, Used 2, Requested 1" in error["message"]
    # Two per minute: the next has room 30 s after the first two.
    wait_ms = int(refused.headers["retry-after-ms"])
    assert 25_000 < wait_ms <= 30_000
    assert refused.headers["retry-after"] == str(-(-wait_ms // 1000))
    # Every request is recorded, and only the two with room reached upstream.
    assert len(records) == 4
    assert upstream_statuses(records) == [200, 200, None, None]
    assert sorted(r.http_status or 0 for r in records) == [200, 200, 429, 429]


def test_replicas_share_the_limit_through_redis(
    emulator: EmulatorServer, tmp_path: Path, redis_namespace: str
) -> None:
    state = {"backend": "redis", "namespace": redis_namespace}
    servers = [
        start(paced_config(emulator, tmp_path / f"ledger-{n}.db", state=state)) for n in range(2)
    ]
    try:
        replicas = [Running(server, sleep) for server, sleep in servers]
        answered = []
        for n in range(6):  # alternating replicas, one request at a time
            with sdk(replicas[n % 2].base_url, "sk-any") as client:
                answered.append(
                    client.responses.create(model=NANO, input=f"item {n}").model.startswith(NANO)
                )
        records = [record for replica in replicas for record in replica.records()]
    finally:
        for server, _ in servers:
            server.stop()
    # Per process, each replica would have sent three (and the second its first ones into a
    # 429, having seen no headers yet): shared, three in all.
    assert sum(answered) == 3
    assert 429 not in upstream_statuses(records)


@pytest.mark.parametrize(("mode", "status"), [("closed", 503), ("open", 200)])
def test_an_unreachable_state_is_handled_as_configured(
    emulator: EmulatorServer, tmp_path: Path, mode: str, status: int
) -> None:
    state = {
        "backend": "redis",
        "url": "redis://127.0.0.1:1/0",
        "on_unavailable": mode,
        "timeout_s": 0.2,
    }
    server, sleep = start(paced_config(emulator, tmp_path / "ledger.db", state=state))
    with server:
        running = Running(server, sleep)
        answer = httpx.post(
            f"{running.base_url}/responses",
            json={"model": NANO, "input": "hi"},
            headers={"authorization": "Bearer sk-any"},
        )
        records = running.records()
    assert answer.status_code == status
    if status == 503:
        assert answer.json()["error"]["code"] == "limits_unavailable"
        assert "127.0.0.1:1" not in answer.text
    assert [r.http_status for r in records] == [status]  # recorded either way
