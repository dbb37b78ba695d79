"""A budget of a few cents holds across three replicas sharing Redis and PostgreSQL when every
request leaves its output cap to laneway: the cap it sets is what each replica reserves.

The cluster is tests/gateway/test_replicas.py's (imported, not copied): its own Redis server and
a fresh PostgreSQL database. The full size (300 concurrent requests) is marked slow.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

import pytest

from tests.gateway.test_replicas import Cluster, cluster, emulator, spread

__all__ = ["cluster", "emulator"]  # the fixtures, used by name
log = logging.getLogger(__name__)

BUDGET = Decimal("0.05")  # a few cents: gpt-5.4-mini's capped worst case is ~$0.0185
BODY = {"model": "gpt-5.4-mini", "input": "Say hi."}  # no max_output_tokens: laneway's cap


def never_overrun(cluster: Cluster, requests: int) -> tuple[int, Decimal]:
    key, key_id = cluster.create_key(name=f"few-cents-{requests}", budgets=[f"{BUDGET}/day"])
    outcomes = asyncio.run(spread(cluster, key, requests, BODY))
    assert set(outcomes) <= {"served", "insufficient_quota"}, outcomes
    time.sleep(0.5)  # settlements and ledger batches land within milliseconds
    everything = cluster.records(key_id)
    rows = [row for row in everything if row[0] != "refused"]
    assert len(rows) == outcomes["served"] > 0
    assert len(everything) - len(rows) == outcomes["insufficient_quota"]  # each on record
    spent = sum((cost for _, cost, _ in rows if cost is not None), Decimal(0))
    assert spent <= BUDGET
    view = cluster.admin(1, "GET", f"keys/{key_id}").json()
    assert Decimal(view["spend"][0]["reserved_usd"]) == 0
    return outcomes["served"], spent


def test_a_few_cents_are_never_overrun_across_replicas(cluster: Cluster) -> None:
    never_overrun(cluster, 60)


@pytest.mark.slow
def test_300_concurrent_requests_over_3_replicas_never_overrun_a_few_cents(
    cluster: Cluster,
) -> None:
    served, spent = never_overrun(cluster, 300)
    log.warning(
        "300 concurrent over 3 replicas: %d served, $%s of $%s spent", served, spent, BUDGET
    )
