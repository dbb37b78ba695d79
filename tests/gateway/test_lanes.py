"""Lanes end to end: the official SDK through laneway to the emulator. Headers and efforts as
the emulator saw them, spill-over before a 429, breakers, shadows, key lanes, the lanes listing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from laneway.cli.main import main
from laneway.emulator.config import EmulatorConfig, FaultRule
from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.pricing.model_spec import TierLimit
from tests.gateway.conftest import BROKEN_MODEL, Running, gateway_config, start
from tests.sdk import sdk

LANES: dict[str, Any] = {
    "ordered": {"candidates": ["gpt-5.4-nano", "gpt-5.4-mini"], "max_effort": "low"},
    "broken-first": {"candidates": [BROKEN_MODEL, "gpt-5.4-mini"]},
    "shadowed": {
        "candidates": ["gpt-5.4-nano"],
        "shadow": {"model": "gpt-5.4-mini", "share": 1.0},
    },
}


@pytest.fixture(scope="module")
def lanes_gateway(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Any:
    ledger = tmp_path_factory.mktemp("lanes") / "ledger.db"
    config = gateway_config(
        emulator,
        ledger,
        lanes=LANES,
        retry={"max_attempts": 1},
        breaker={"consecutive_failures": 2, "open_s": 600},
        server={"port": 0, "api_keys": ["sk-plain", {"key": "sk-coder", "lane": "coding"}]},
    )
    server, sleep = start(config)
    try:
        yield Running(server, sleep)
    finally:
        server.stop()


def wait_for(running: Running, predicate: Any, timeout_s: float = 10.0) -> list[LedgerRecord]:
    deadline = time.monotonic() + timeout_s
    while True:
        records = running.records()
        if predicate(records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def test_a_lane_answers_with_its_headers_and_the_model_that_answered(
    lanes_gateway: Running,
) -> None:
    with sdk(lanes_gateway.base_url, "sk-plain") as client:
        raw = client.responses.with_raw_response.create(
            model="lane:coding", input="write a function"
        )
    response = raw.parse()
    assert raw.headers["x-laneway-lane"] == "coding"
    assert raw.headers["x-laneway-route"] == "ordered -> gpt-5.4-mini@emu"
    assert response.model.startswith("gpt-5.4-mini")
    assert response.reasoning is not None
    assert response.reasoning.effort == "none"
    record = lanes_gateway.record(raw.headers["x-laneway-request-id"])
    assert record.lane == "coding"
    assert record.route is not None
    assert '"chosen":"gpt-5.4-mini@emu"' in record.route


def test_the_emulator_sees_the_capped_effort(lanes_gateway: Running) -> None:
    with sdk(lanes_gateway.base_url, "sk-plain") as client:
        response = client.responses.create(
            model="lane:ordered", input="extract it", reasoning={"effort": "high"}
        )
        chat = client.chat.completions.create(
            model="lane:ordered",
            messages=[{"role": "user", "content": "extract it"}],
            reasoning_effort="high",
        )
    assert response.reasoning is not None
    assert response.reasoning.effort == "low"
    assert chat.model.startswith("gpt-5.4-nano")
    assert chat.usage is not None


def test_a_plain_model_id_has_no_lane(lanes_gateway: Running) -> None:
    with sdk(lanes_gateway.base_url, "sk-plain") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-5.4-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert "x-laneway-lane" not in raw.headers
    assert raw.headers["x-laneway-route"] == "model -> gpt-5.4-mini@emu"


def test_a_keys_default_lane_takes_auto(lanes_gateway: Running) -> None:
    with sdk(lanes_gateway.base_url, "sk-coder") as client:
        raw = client.responses.with_raw_response.create(model="auto", input="fix the bug")
    assert raw.headers["x-laneway-lane"] == "coding"
    with sdk(lanes_gateway.base_url, "sk-plain") as client:
        other = client.responses.with_raw_response.create(model="auto", input="fix the bug")
    assert other.headers["x-laneway-lane"] == "frontier"  # the shipped auto default


def test_an_unknown_lane_is_an_openai_shaped_404(lanes_gateway: Running) -> None:
    response = httpx.post(
        f"{lanes_gateway.base_url}/responses",
        json={"model": "lane:nope", "input": "x"},
        headers={"authorization": "Bearer sk-plain"},
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "lane_not_found"
    assert error["param"] == "model"


def test_a_failing_model_opens_its_circuit_and_the_lane_goes_around_it(
    lanes_gateway: Running,
) -> None:
    routes = []
    with sdk(lanes_gateway.base_url, "sk-plain") as client:
        for _ in range(4):
            raw = client.responses.with_raw_response.create(model="lane:broken-first", input="x")
            routes.append(raw.headers["x-laneway-route"])
            assert raw.parse().model.startswith("gpt-5.4-mini")
    # Two 503s open gpt-5.2's circuit (consecutive_failures = 2); then it is not even tried.
    assert routes[:2] == ["ordered -> gpt-5.4-mini@emu"] * 2
    assert (
        routes[2:]
        == [f"ordered -> gpt-5.4-mini@emu; skipped {BROKEN_MODEL}@emu (circuit open)"] * 2
    )
    listing = httpx.get(
        lanes_gateway.base_url.removesuffix("/v1") + "/laneway/lanes",
        headers={"authorization": "Bearer sk-plain"},
    ).json()["data"]
    lane = next(entry for entry in listing if entry["name"] == "broken-first")
    assert [c["health"] for c in lane["candidates"]] == ["open", "closed"]


def test_a_shadow_never_delays_the_client_and_is_recorded_as_its_pair(
    tmp_path: Path,
) -> None:
    # The shadow model hangs: the client's answer must not wait for it.
    config = EmulatorConfig(
        seed=5,
        speed=0,
        tier="none",
        faults=(FaultRule(kind="hang", models=("gpt-5.4-mini",)),),
    )
    with EmulatorServer(config) as emulator:
        lanes = {**LANES, "plain": {"candidates": ["gpt-5.4-nano"]}}
        server, sleep = start(gateway_config(emulator, tmp_path / "ledger.db", lanes=lanes))
        with server:
            running = Running(server, sleep)
            with sdk(running.base_url, "sk-any") as client:
                shadowed = client.responses.with_raw_response.create(
                    model="lane:shadowed", input="Summarise: the cat sat on the mat."
                )
                unshadowed = client.responses.create(
                    model="lane:plain", input="Summarise: the cat sat on the mat."
                )
            primary_id = shadowed.headers["x-laneway-request-id"]
            records = running.records()
            shadows = [r for r in records if r.shadow]
            # The client has its whole answer while the shadow is still out (hanging).
            assert [r.status for r in shadows] in ([], ["reserved"])
            assert shadowed.parse().output_text == unshadowed.output_text
            # It ends when its attempt times out (first_byte_s = 2 in the test config).
            records = wait_for(running, lambda rs: any(r.shadow and r.settled for r in rs))
    primary = next(r for r in records if r.id == primary_id)
    shadow = next(r for r in records if r.shadow)
    assert primary.pair_id == shadow.pair_id == primary_id
    assert not primary.shadow
    assert primary.answering_model == "gpt-5.4-nano"
    assert shadow.status == "error"
    assert shadow.lane == "shadowed"
    assert [a.model for a in shadow.attempts][:1] == ["gpt-5.4-mini"]


def test_a_shadow_that_answers_is_settled_with_its_cost(tmp_path: Path) -> None:
    with EmulatorServer(EmulatorConfig(seed=5, speed=0, tier="none")) as emulator:
        server, sleep = start(gateway_config(emulator, tmp_path / "ledger.db", lanes=LANES))
        with server:
            running = Running(server, sleep)
            with sdk(running.base_url, "sk-any") as client:
                client.chat.completions.create(
                    model="lane:shadowed",
                    messages=[{"role": "user", "content": "hello"}],
                    stream=True,
                ).close()
            records = wait_for(running, lambda rs: any(r.shadow and r.settled for r in rs))
    shadow = next(r for r in records if r.shadow)
    primary = next(r for r in records if not r.shadow)
    assert shadow.status == "ok"
    assert shadow.answering_model == "gpt-5.4-mini"
    assert shadow.cost_usd is not None
    assert shadow.cost_usd > 0
    assert shadow.stream is False
    assert shadow.pair_id == primary.id


def test_a_lane_spills_to_the_next_candidate_before_earning_a_429(tmp_path: Path) -> None:
    config = EmulatorConfig(
        seed=5,
        speed=0,
        tier="tier-5",
        rate_limits={"gpt-5.4-nano": TierLimit(rpm=2, tpm=1_000_000)},
    )
    with EmulatorServer(config) as emulator:
        lanes = {"o": {"candidates": ["gpt-5.4-nano", "gpt-5.4-mini"]}}
        server, sleep = start(gateway_config(emulator, tmp_path / "ledger.db", lanes=lanes))
        with server:
            running = Running(server, sleep)
            with sdk(running.base_url, "sk-any") as client:
                answered = [
                    client.responses.create(model="lane:o", input=f"item {n}").model
                    for n in range(5)
                ]
            records = running.records()
    assert [m.startswith("gpt-5.4-nano") for m in answered] == [True, True, False, False, False]
    models = [r.answering_model for r in sorted(records, key=lambda r: r.created_at)]
    assert models == ["gpt-5.4-nano"] * 2 + ["gpt-5.4-mini"] * 3
    statuses = [a.status for r in records for a in r.attempts]
    assert 429 not in statuses  # spilled on the headers' word, never refused by upstream


def test_laneway_lanes_reads_live_health_from_the_gateway(
    lanes_gateway: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    url = lanes_gateway.base_url.removesuffix("/v1")
    assert main(["lanes", "--gateway", url, "--api-key", "sk-plain", "--json"]) == 0
    lanes = {lane["name"]: lane for lane in json.loads(capsys.readouterr().out)}
    assert [c["candidate"] for c in lanes["ordered"]["candidates"]] == [
        "gpt-5.4-nano@emu", "gpt-5.4-mini@emu",
    ]  # fmt: skip
    assert lanes["shadowed"]["shadow"]["share"] == 1.0
    assert main(["lanes", "--gateway", url, "--api-key", "sk-wrong"]) == 2
    assert "the gateway answered 401" in capsys.readouterr().err
