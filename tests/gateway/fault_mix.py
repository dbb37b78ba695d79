"""The tester's fault mix through laneway in front of the emulator, and the books held side by
side: the ledger record by record against the emulator's journal of what it billed each call.

The mix (issue 17): 429 5%, 500 4%, 503 4%, hang 2%, a stream cut after 5 events 8%, cut before
its first event 3%. A cut applies to streams only, so most requests stream.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from laneway.emulator.bill import BillEntry
from laneway.emulator.config import EmulatorConfig, FaultRule
from laneway.emulator.price_list import shipped_prices
from laneway.emulator.server import EmulatorServer
from laneway.ledger.reconcile import Basis, Reconciliation, given_up, reconcile
from laneway.ledger.record import LedgerRecord
from tests.gateway.conftest import Running, gateway_config, start

FAULTS = (
    FaultRule(kind="status", status=429, share=0.05),
    FaultRule(kind="status", status=500, share=0.04),
    FaultRule(kind="status", status=503, share=0.04),
    FaultRule(kind="hang", share=0.02),
    FaultRule(kind="cut", after_events=5, share=0.08),
    FaultRule(kind="cut", after_events=0, share=0.03),
)
MODELS = ("gpt-5.4", "gpt-5.4-mini")  # priced in laneway's catalog: every exact cost is known
_ZERO = Decimal(0)


async def _one(client: AsyncOpenAI, rng: random.Random, index: int) -> None:
    model = rng.choice(MODELS)
    stream = rng.random() < 0.8
    prompt = f"Request {index}: " + " ".join(f"w{rng.randint(0, 999)}" for _ in range(60))
    try:
        if rng.random() < 0.5:
            if stream:
                async with client.responses.stream(model=model, input=prompt) as events:
                    await events.get_final_response()
            else:
                await client.responses.create(model=model, input=prompt)
        else:
            messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": prompt}]
            if stream:
                async with client.chat.completions.stream(model=model, messages=messages) as chunks:
                    await chunks.get_final_completion()
            else:
                await client.chat.completions.create(model=model, messages=messages)
    except openai.APIError:
        pass  # a failure or a broken stream: the ledger says which


async def _send(base_url: str, requests: int, seed: int) -> None:
    rng = random.Random(seed)
    limit = asyncio.Semaphore(12)
    async with AsyncOpenAI(base_url=base_url, api_key="sk-any", max_retries=0) as client:

        async def bounded(index: int) -> None:
            async with limit:
                await _one(client, rng, index)

        await asyncio.gather(*(bounded(i) for i in range(requests)))


@dataclass
class Books:
    records: list[LedgerRecord]
    journal: dict[str, BillEntry]  # the emulator's bill, call by call, by request id
    costs_api_usd: Decimal  # the emulator's Costs API total over the run

    def charge(self, entry: BillEntry) -> Decimal:
        prices = shipped_prices().find(entry.model)
        assert prices is not None
        return prices.charge(entry.usage).total

    @property
    def linked(self) -> dict[str, str]:
        """Record id by the upstream request id of the answer it committed to."""
        return {r.upstream_request_id: r.id for r in self.records if r.upstream_request_id}

    def unlinked(self) -> list[BillEntry]:
        """Calls billed that no record committed to: attempts given up."""
        linked = self.linked
        return [entry for rid, entry in self.journal.items() if rid not in linked]

    def billed_for(self, record: LedgerRecord) -> Decimal:
        entry = self.journal.get(record.upstream_request_id or "")
        return self.charge(entry) if entry is not None else _ZERO

    def reconciliation(self) -> Reconciliation:
        return reconcile(self.records, self.costs_api_usd)

    def by_reason(self) -> dict[Basis, tuple[Decimal, Decimal]]:
        """Per basis, (ledger, bill) for its records; the calls no record committed to are
        billed to "abandoned"."""
        books: dict[Basis, list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO])
        for record in self.records:
            line = books[record.cost_basis or "exact"]
            line[0] += record.cost_usd or _ZERO
            line[1] += self.billed_for(record)
        books["abandoned"][1] += sum((self.charge(e) for e in self.unlinked()), _ZERO)
        return {basis: (ledger, bill) for basis, (ledger, bill) in books.items()}

    def given_up_attempts(self) -> int:
        return sum(given_up(a) for r in self.records for a in r.attempts)


def run_mix(tmp: Path, requests: int, seed: int) -> Books:
    config = EmulatorConfig(
        seed=seed, speed=0, tier="none", faults=FAULTS, journal_requests=10 * requests
    )
    with EmulatorServer(config) as emulator:
        patient = {"consecutive_failures": 1_000_000, "min_requests": 1_000_000}
        timeouts = {"first_byte_s": 1.0, "idle_s": 2.0, "total_s": 20.0}
        server, sleep = start(
            gateway_config(emulator, tmp / "ledger.db", breaker=patient, timeouts=timeouts)
        )
        started = int(time.time()) - 60
        with server:
            asyncio.run(_send(server.base_url, requests, seed))
            records = Running(server, sleep).records()
        costs = httpx.get(
            f"{emulator.base_url}/organization/costs",
            params={"start_time": str(started), "limit": "3"},
            headers={"authorization": "Bearer sk-any"},
        ).json()
        journal = emulator.engine.bill.journal()
    total = sum(
        (Decimal(str(r["amount"]["value"])) for b in costs["data"] for r in b["results"]), _ZERO
    )
    return Books(records, journal, total)
