"""Reconciliation catches a pricing bug in laneway: the emulator bills from its own price list,
so a wrong price in laneway's catalog makes the ledger and the emulator's Costs API disagree, on
that model alone, by exactly the mispriced tokens; with the published price they agree exactly.

The gateway gets a catalog override file (`catalog = [path]`, merged over the shipped catalog);
the emulator keeps the books it ships with, whatever catalog it serves models from."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.pricing.catalog import Catalog
from tests.gateway.conftest import Running, gateway_config, start
from tests.sdk import sdk

MISPRICED = "gpt-5.4-mini"
PUBLISHED_OUTPUT, WRONG_OUTPUT = Decimal("4.50"), Decimal("4.05")  # USD per 1M output tokens
MODELS = ("gpt-5.4-mini", "gpt-5.4")
# Long enough (1,024+ tokens) that repeats hit the emulator's prompt cache: cached input is
# reconciled too.
SHARED = " ".join(f"clause {i} holds" for i in range(450))
AUTH = {"authorization": "Bearer sk-any"}


@dataclass(frozen=True)
class Books:
    ledger: dict[str, Decimal]  # USD per model, from the gateway's ledger
    bill: dict[str, Decimal]  # USD per model, from the emulator's /v1/organization/costs
    output_tokens: Counter[str]  # per model, from the emulator's usage endpoint
    cached_tokens: int

    def differences(self) -> dict[str, Decimal]:
        """Per model, what the provider billed minus what laneway recorded; agreeing omitted."""
        zero = Decimal(0)
        models = set(self.ledger) | set(self.bill)
        gaps = {m: self.bill.get(m, zero) - self.ledger.get(m, zero) for m in models}
        return {model: gap for model, gap in gaps.items() if gap}


def send(base_url: str) -> None:
    with sdk(base_url, "any-client-key") as client:
        for i in range(24):
            model = MODELS[i % 2]
            prompt = f"{SHARED} item {i}" if i % 3 else f"Short request {i}"
            if i % 4 < 2:
                response = client.responses.create(model=model, input=prompt)
                assert response.status == "completed"
            else:
                with client.chat.completions.stream(
                    model=model, messages=[{"role": "user", "content": prompt}]
                ) as chunks:
                    assert chunks.get_final_completion().choices


def emulator_books(emulator: EmulatorServer) -> tuple[dict[str, Decimal], Counter[str], int]:
    since = str(int(time.time()) - 86_400)
    costs = httpx.get(
        f"{emulator.base_url}/organization/costs",
        params={"start_time": since, "limit": "3", "group_by": "line_item"},
        headers=AUTH,
    ).json()
    bill: dict[str, Decimal] = {}
    for result in (r for bucket in costs["data"] for r in bucket["results"]):
        model = result["line_item"].split(", ")[0]  # "gpt-5.4-mini, cached input"
        bill[model] = bill.get(model, Decimal(0)) + Decimal(str(result["amount"]["value"]))
    usage = httpx.get(
        f"{emulator.base_url}/organization/usage/completions",
        params={"start_time": since, "limit": "3", "group_by": "model"},
        headers=AUTH,
    ).json()
    output: Counter[str] = Counter()
    cached = 0
    for result in (r for bucket in usage["data"] for r in bucket["results"]):
        output[result["model"]] += result["output_tokens"]
        cached += result["input_cached_tokens"]
    return bill, output, cached


def reconcile(tmp_path: Path, output_price: Decimal) -> Books:
    """Serve the same requests through a gateway whose catalog gives `MISPRICED` this output
    price, in front of a fresh emulator; then read both books."""
    override = tmp_path / "prices.toml"
    override.write_text(f'[models."{MISPRICED}".prices]\noutput = "{output_price}"\n')
    assert Catalog.load(override).get(MISPRICED).prices.output == output_price
    # The emulator gets the same catalog, as both would read a wrong shipped models.toml: it
    # serves the models that catalog lists but bills from its own price list.
    emulated = EmulatorConfig(seed=5, speed=0, tier="none")
    with EmulatorServer(emulated, catalog=Catalog.load(override)) as emulator:
        config = gateway_config(emulator, tmp_path / "ledger.db", catalog=[str(override)])
        server, sleep = start(config)
        with server:
            send(server.base_url)
            records = Running(server, sleep).records()
        bill, output, cached = emulator_books(emulator)
    ledger: dict[str, Decimal] = {}
    for record in records:
        assert record.status == "ok"
        assert record.answering_model is not None
        assert record.cost_usd is not None
        model = Catalog.load().get(record.answering_model).id
        ledger[model] = ledger.get(model, Decimal(0)) + record.cost_usd
    return Books(ledger, bill, output, cached)


def test_a_wrong_price_in_laneways_catalog_is_caught_against_the_emulators_bill(
    tmp_path: Path,
) -> None:
    books = reconcile(tmp_path, WRONG_OUTPUT)
    assert set(books.ledger) == set(books.bill) == set(MODELS)
    assert sum(books.ledger.values()) != sum(books.bill.values())
    # Found on the mispriced model only, and it is exactly its output tokens at the price gap.
    tokens = books.output_tokens[MISPRICED]
    assert tokens > 0
    gap = (tokens * (PUBLISHED_OUTPUT - WRONG_OUTPUT)).scaleb(-6)
    assert books.differences() == {MISPRICED: gap}


def test_with_the_published_price_the_same_comparison_agrees_exactly(tmp_path: Path) -> None:
    books = reconcile(tmp_path, PUBLISHED_OUTPUT)
    assert set(books.ledger) == set(MODELS)
    assert books.cached_tokens > 0  # the cached part was reconciled too
    assert books.differences() == {}
    assert sum(books.ledger.values()) == sum(books.bill.values()) > 0
