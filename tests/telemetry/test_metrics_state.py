"""What a scrape reads of the state, on real gateways: a virtual key's budgets and RPM/TPM use
(in memory and in real Redis), and a global budget two gateways share through Redis, which
both report alike (the fleet's PromQL takes `max` of it)."""

from __future__ import annotations

import math
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.gateway.conftest import (
    PROVIDER_KEY,
    Running,
    create_key,
    emulator,  # noqa: F401 - the module's emulator, as a fixture here
    gateway_config,
    start,
)
from tests.sdk import sdk
from tests.telemetry.metrics_samples import Samples, pick, samples, scrape, total

ADMIN_KEY = "admin-secret-for-metrics-0123456789"
TPM = 2_000  # refills 33 tokens a second: the use is still there when scraped
ENV = {"EMU_KEY": PROVIDER_KEY, "LANEWAY_ADMIN_KEY": ADMIN_KEY}


def scraped(server: GatewayServer) -> Samples:
    answer = scrape(server.base_url, ADMIN_KEY)
    assert answer.status_code == 200
    return samples(answer.text)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_keys_budget_and_rate_limits_in_use(
    emulator: EmulatorServer,  # noqa: F811
    tmp_path: Path,
    redis_namespace: str,
    backend: str,
) -> None:
    state = {"backend": backend, "namespace": redis_namespace}
    config = gateway_config(
        emulator, tmp_path / "ledger.db", state=state, metrics={"enabled": True}
    )
    server, sleep = start(config, ENV)
    with server:
        secret, key_id = create_key(
            server, ADMIN_KEY, name="metered", budgets=["5/day"], rpm=10, tpm=TPM
        )
        sent = time.monotonic()  # the buckets refill from here at the latest
        with sdk(server.base_url, secret) as client:
            for _ in range(3):
                client.responses.create(model="gpt-5.4-mini", input="Say hi.", max_output_tokens=64)
        records = Running(server, sleep).records()
        spent = sum((r.cost_usd for r in records if r.cost_usd is not None), Decimal(0))
        found = scraped(server)
        rpm = {"key": key_id, "limit": "rpm"}
        assert total(found, "laneway_key_rate_limit", **rpm) == 10
        assert total(found, "laneway_key_rate_limit_used", **rpm) == 3
        tpm = {"key": key_id, "limit": "tpm"}
        assert total(found, "laneway_key_rate_limit", **tpm) == TPM
        used = sum((r.usage.input_tokens + r.usage.output_tokens) for r in records if r.usage)
        # Settled to the tokens really used, less what the bucket refilled since (TPM / 60 s).
        refilled = math.ceil((time.monotonic() - sent) * TPM / 60)
        shown = total(found, "laneway_key_rate_limit_used", **tpm)
        assert used - refilled - 1 <= shown <= used
        budget = {"budget": f"key:{key_id}:day", "window": "day"}
        assert total(found, "laneway_budget_limit_usd", **budget) == 5
        assert _usd(total(found, "laneway_budget_spent_usd", **budget)) == spent
        remaining = total(found, "laneway_budget_remaining_usd", **budget)
        assert _usd(remaining) == Decimal(5) - spent
        assert total(found, "laneway_quota_state_up") == 1


def test_replicas_sharing_redis_report_the_same_budget(
    emulator: EmulatorServer,  # noqa: F811
    tmp_path: Path,
    redis_namespace: str,
) -> None:
    sections: dict[str, Any] = {
        "state": {"backend": "redis", "namespace": redis_namespace},
        "budgets": {"global": ["100/day"]},
        "metrics": {"enabled": True, "open": True},
    }
    first, sleep = start(gateway_config(emulator, tmp_path / "one.db", **sections), ENV)
    second, _ = start(gateway_config(emulator, tmp_path / "two.db", **sections), ENV)
    with first, second:
        with sdk(first.base_url, "anyone") as client:
            client.chat.completions.create(
                model="gpt-5.4-mini", messages=[{"role": "user", "content": "Say hi."}]
            )
        (record,) = Running(first, sleep).records()
        assert record.cost_usd is not None
        budget = {"budget": "global:day", "window": "day"}
        deadline = time.monotonic() + 5
        while True:  # the settlement reaches Redis just after the answer
            readings = [
                pick(scraped(s), "laneway_budget_spent_usd", **budget) for s in (first, second)
            ]
            if all(_usd(sum(r.values())) == record.cost_usd for r in readings):
                break
            assert time.monotonic() < deadline, readings
        left = [
            total(scraped(s), "laneway_budget_remaining_usd", **budget) for s in (first, second)
        ]
        assert left[0] == left[1]
        assert _usd(left[0]) == Decimal(100) - record.cost_usd
        # Only the gateway that served it counted the request: the fleet sums counters.
        assert total(scraped(first), "laneway_requests_total") == 1
        assert total(scraped(second), "laneway_requests_total") == 0


def _usd(value: float) -> Decimal:
    """A gauge's float as the exact nano-USD amount it shows."""
    return Decimal(repr(value)).quantize(Decimal("1e-9"))
