"""/metrics on a real gateway in front of the emulator, after known traffic from the official
SDK: exact request counts, tokens and costs checked against the gateway's own ledger, the key
label folded past `top_keys`, and who may scrape."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from laneway.emulator.config import EmulatorConfig, FaultRule
from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.server.auth import key_id_of
from tests.gateway.conftest import (
    BROKEN_MODEL,
    PROVIDER_KEY,
    Running,
    emulator,  # noqa: F401 - the module's emulator, as a fixture here
    gateway_config,
    start,
)
from tests.sdk import sdk
from tests.telemetry.metrics_samples import TOKEN, pick, samples, scrape, total

FIRST_KEY = "sk-metrics-first-0123456789"
SECOND_KEY = "sk-metrics-second-0123456789"
ADMIN_KEY = "admin-key-for-metrics-0123456789"


@pytest.fixture(scope="module")
def traffic(
    emulator: EmulatorServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Running, list[LedgerRecord]]]:
    config = gateway_config(
        emulator,
        tmp_path_factory.mktemp("metrics") / "ledger.db",
        server={"port": 0, "api_keys": [FIRST_KEY, SECOND_KEY]},
        metrics={"enabled": True, "top_keys": 1},
    )
    env = {"EMU_KEY": PROVIDER_KEY, "LANEWAY_METRICS_TOKEN": TOKEN, "LANEWAY_ADMIN_KEY": ADMIN_KEY}
    server, sleep = start(config, env)
    running = Running(server, sleep)
    try:
        with sdk(running.base_url, FIRST_KEY) as first, sdk(running.base_url, SECOND_KEY) as second:
            send(first, second)
        yield running, running.records()
    finally:
        server.stop()


def send(first: openai.OpenAI, second: openai.OpenAI) -> None:
    """Chat, Responses, a stream (of a model with no output price), a refusal, an upstream
    404, and an upstream 503 that falls back."""
    first.chat.completions.create(
        model="gpt-5.4-mini", messages=[{"role": "user", "content": "Say hi."}]
    )
    first.responses.create(model="gpt-5.4-mini", input="Name a colour.")
    stream = first.chat.completions.create(
        model="gpt-5.4-nano",
        messages=[{"role": "user", "content": "Count to three."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    with pytest.raises(openai.NotFoundError):  # refused by laneway: no such lane
        first.chat.completions.create(
            model="lane:nope", messages=[{"role": "user", "content": "hello"}]
        )
    with pytest.raises(openai.NotFoundError):  # forwarded; the upstream knows no such model
        first.chat.completions.create(
            model="no-such-model-xyz", messages=[{"role": "user", "content": "hello"}]
        )
    second.chat.completions.create(  # 503 from the emulator, retried, then its fallback
        model=BROKEN_MODEL, messages=[{"role": "user", "content": "Fall back, please."}]
    )


def test_requests_are_counted_by_outcome_and_the_key_label_is_folded(
    traffic: tuple[Running, list[LedgerRecord]],
) -> None:
    running, records = traffic
    found = samples(scrape(running.base_url).text)
    first_id = key_id_of(FIRST_KEY)
    assert len(records) == 6
    assert total(found, "laneway_requests_total") == 6
    assert total(found, "laneway_requests_total", key=first_id) == 5
    assert total(found, "laneway_requests_total", key="other") == 1  # top_keys = 1
    assert key_id_of(SECOND_KEY) not in scrape(running.base_url).text
    ok = pick(found, "laneway_requests_total", status="ok", status_class="2xx", refusal="")
    assert sum(ok.values()) == 4
    refused = pick(
        found, "laneway_requests_total", status="refused", status_class="4xx", refusal="not_found"
    )
    assert list(refused.values()) == [1]
    upstream = pick(found, "laneway_requests_total", status="error", status_class="4xx")
    assert list(upstream.values()) == [1]
    for labels in (*refused, *upstream):
        assert ("model", "other") in labels  # never the string the client wrote
    text = scrape(running.base_url).text
    assert "no-such-model-xyz" not in text
    assert "nope" not in text
    assert total(found, "laneway_requests_total", endpoint="responses") == 1


def test_tokens_and_cost_match_the_ledger_exactly(
    traffic: tuple[Running, list[LedgerRecord]],
) -> None:
    running, records = traffic
    found = samples(scrape(running.base_url).text)
    answered = [r for r in records if r.usage is not None]
    assert len(answered) == 4
    for kind, field in (
        ("input", "input_tokens"),
        ("cache_read", "cached_input_tokens"),
        ("output", "output_tokens"),
        ("reasoning", "reasoning_tokens"),
    ):
        want = sum(getattr(r.usage, field) for r in answered)
        assert total(found, "laneway_tokens_total", type=kind) == want, kind
    for model in {r.answering_model for r in answered}:
        assert model is not None
        spent = sum(
            (r.cost_usd for r in answered if r.answering_model == model and r.cost_usd),
            Decimal(0),
        )
        shown = total(found, "laneway_cost_usd_total", model=model)
        assert Decimal(repr(shown)).quantize(Decimal("1e-12")) == spent.quantize(Decimal("1e-12"))
    unknown = [r for r in answered if r.cost_usd is None]
    assert unknown  # gpt-5.4-nano has no output price in the catalog
    assert total(found, "laneway_cost_unknown_requests_total") == len(unknown)
    for record in unknown:  # counted apart, never as a cost of 0
        assert not pick(found, "laneway_cost_usd_total", model=str(record.answering_model))
    kind = "gen_ai_token_type"
    inputs = total(found, "gen_ai_client_token_usage_sum", **{kind: "input"})
    assert inputs == sum(r.usage.input_tokens for r in answered if r.usage)
    assert total(found, "gen_ai_client_token_usage_count", **{kind: "output"}) == 4


def test_retries_fallbacks_and_latency(traffic: tuple[Running, list[LedgerRecord]]) -> None:
    running, records = traffic
    found = samples(scrape(running.base_url).text)
    (fell,) = [r for r in records if r.requested_model == BROKEN_MODEL]
    broken = [a for a in fell.attempts if a.model == BROKEN_MODEL]
    assert total(found, "laneway_upstream_retries_total", model=BROKEN_MODEL) == len(broken) - 1
    moved = pick(found, "laneway_fallbacks_total", from_model=BROKEN_MODEL, to_model="gpt-5.4")
    assert list(moved.values()) == [1]
    assert total(found, "gen_ai_client_operation_duration_seconds_count", error_type="503") == len(
        broken
    )
    assert total(found, "laneway_request_duration_seconds_count") == 5  # refusals apart
    assert total(found, "laneway_time_to_first_token_seconds_count") == 1  # the stream
    stream = pick(found, "laneway_time_to_first_token_seconds_bucket", le="+Inf")
    assert list(stream.values()) == [1]


def test_state_gauges(traffic: tuple[Running, list[LedgerRecord]]) -> None:
    running, _ = traffic
    found = samples(scrape(running.base_url).text)
    assert total(found, "laneway_quota_state_up") == 1
    assert ("laneway_ledger_backlog", ()) in found
    assert total(found, "laneway_ledger_unsettled_records") == 0
    states = pick(found, "laneway_breaker_state", model=BROKEN_MODEL)
    assert sum(states.values()) == 1  # one state of three


@pytest.mark.parametrize(
    ("bearer", "status"),
    [(None, 401), ("wrong-token", 401), (TOKEN, 200), (ADMIN_KEY, 200), (FIRST_KEY, 401)],
)
def test_who_may_scrape(
    traffic: tuple[Running, list[LedgerRecord]], bearer: str | None, status: int
) -> None:
    running, _ = traffic
    answer = scrape(running.base_url, bearer)
    assert answer.status_code == status
    if status == 200:
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    else:
        error: dict[str, Any] = answer.json()["error"]
        assert error["code"] in {"invalid_api_key", None}
        assert bearer is None or bearer not in answer.text


def test_closed_open_and_off(emulator: EmulatorServer, tmp_path: Path) -> None:  # noqa: F811
    env = {"EMU_KEY": PROVIDER_KEY}
    cases = [({"enabled": True}, 403), ({"enabled": True, "open": True}, 200), ({}, 404)]
    for metrics, status in cases:
        config = gateway_config(emulator, tmp_path / "ledger.db", metrics=metrics)
        server, _ = start(config, env)
        with server:
            answer = scrape(server.base_url, None)
            assert answer.status_code == status, metrics
            if status == 403:
                assert answer.json()["error"]["code"] == "metrics_closed"


def test_an_upstream_429_and_a_cut_stream(tmp_path: Path) -> None:
    faults = (
        FaultRule(kind="status", status=429, models=("gpt-5.4-nano",)),
        FaultRule(kind="cut", after_events=3, models=("gpt-5.4",)),
    )
    config = EmulatorConfig(seed=3, speed=0, tier="none", faults=faults)
    with EmulatorServer(config) as upstream:
        gateway = gateway_config(
            upstream, tmp_path / "ledger.db", metrics={"enabled": True, "open": True}
        )
        server, sleep = start(gateway)
        with server, sdk(server.base_url, "anyone") as client:
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(
                    model="gpt-5.4-nano", messages=[{"role": "user", "content": "hi"}]
                )
            with pytest.raises(openai.APIError):  # the stream ends on an error event
                for _ in client.chat.completions.create(
                    model="gpt-5.4", messages=[{"role": "user", "content": "hi"}], stream=True
                ):
                    pass
            records = Running(server, sleep).records()
            found = samples(scrape(server.base_url, None).text)
    (limited,) = [r for r in records if r.requested_model == "gpt-5.4-nano"]
    refused = pick(found, "laneway_requests_total", refusal="upstream:rate_limit_exceeded")
    assert list(refused.values()) == [1]
    ((labels, _),) = refused.items()
    assert ("status", limited.status) in labels
    assert ("status_class", "4xx") in labels
    sent = len([a for a in limited.attempts if a.status == 429])
    assert sent >= 1
    calls = "gen_ai_client_operation_duration_seconds_count"
    assert total(found, calls, error_type="429") == sent
    broken = pick(found, "laneway_requests_total", status="broken", model="gpt-5.4")
    assert list(broken.values()) == [1]
