"""Retries, fallbacks, timeouts and broken streams, driven by the emulator's fault injection."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from laneway.emulator.server import EmulatorServer
from tests.gateway.conftest import (
    BROKEN_MODEL,
    MINI_ONLY_KEY,
    PROVIDER_KEY,
    Running,
    gateway_config,
    start,
)
from tests.sdk import sdk

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]


def fault(spec: str) -> dict[str, str]:
    return {"x-emulator-fault": spec}


def test_a_429_is_retried_after_the_delay_upstream_asked_for(
    client: OpenAI, gateway: Running
) -> None:
    gateway.sleep.delays.clear()
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(
            model="gpt-5.4-mini",
            messages=MESSAGES,
            extra_headers=fault("status=429"),
        )
    headers = raised.value.response.headers
    assert headers["x-laneway-attempts"] == "3"
    assert gateway.sleep.delays == [1.0, 1.0]  # retry-after-ms: 1000, honoured, not backoff
    assert headers["retry-after"] == "1"  # passed on, so the client backs off too
    record = gateway.record(headers["x-laneway-request-id"])
    assert record.status == "error"
    assert record.http_status == 429
    assert [a.status for a in record.attempts] == [429, 429, 429]
    assert record.usage is None
    assert record.cost_usd is None


def test_a_server_error_is_retried_with_backoff_then_reported(
    client: OpenAI, gateway: Running
) -> None:
    gateway.sleep.delays.clear()
    with pytest.raises(openai.InternalServerError) as raised:
        client.responses.create(model="gpt-5.4-nano", input="hi", extra_headers=fault("status=500"))
    assert raised.value.status_code == 500
    assert raised.value.response.headers["x-laneway-attempts"] == "3"
    first, second = gateway.sleep.delays
    assert 0.375 <= first <= 0.5
    assert 0.75 <= second <= 1.0


def test_a_client_error_is_not_retried(client: OpenAI, gateway: Running) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-5.4-mini", messages=[])
    assert raised.value.response.headers["x-laneway-attempts"] == "1"


def test_fallback_to_the_next_model_when_one_keeps_failing(
    client: OpenAI, gateway: Running
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=BROKEN_MODEL,
        messages=MESSAGES,
    )
    completion = raw.parse()
    assert completion.model.startswith("gpt-5.4")  # the model that answered, not the one asked
    assert raw.headers["x-laneway-model"] == "gpt-5.4"
    record = gateway.record(raw.headers["x-laneway-request-id"])
    assert record.requested_model == BROKEN_MODEL
    assert record.answering_model == "gpt-5.4"
    assert [(a.model, a.status) for a in record.attempts] == [
        (BROKEN_MODEL, 503),
        (BROKEN_MODEL, 503),
        (BROKEN_MODEL, 503),
        ("gpt-5.4", 200),
    ]
    assert record.usage is not None
    assert record.cost_usd is not None


def test_a_hung_upstream_times_out_and_is_reported_as_504(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    config = gateway_config(
        emulator,
        tmp_path / "ledger.db",
        timeouts={"first_byte_s": 0.2, "total_s": 1.0},
        retry={"max_attempts": 2},
    )
    server, _ = start(config)
    with server, sdk(server.base_url) as client, pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(
            model="gpt-5.4-mini",
            messages=MESSAGES,
            extra_headers=fault("hang"),
        )
    assert raised.value.status_code == 504
    assert raised.value.code == "upstream_timeout"
    assert raised.value.response.headers["x-laneway-attempts"] == "2"


def test_model_not_found_falls_back_and_says_what_to_check(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    config = gateway_config(
        emulator, tmp_path / "ledger.db", models={"gpt-5.4": {"fallbacks": ["gpt-5.4-mini"]}}
    )
    server, _ = start(config, {"EMU_KEY": MINI_ONLY_KEY})
    with server, sdk(server.base_url) as client:
        fell_back = client.chat.completions.create(
            model="gpt-5.4",
            messages=MESSAGES,
        )
        assert fell_back.model.startswith("gpt-5.4-mini")
        with pytest.raises(openai.NotFoundError) as raised:
            client.chat.completions.create(
                model="gpt-5.4-nano",
                messages=MESSAGES,
            )
    assert raised.value.code == "model_not_found"
    assert "model usage restrictions" in raised.value.message
    assert "restricted key" in raised.value.message


def test_an_upstream_401_names_the_variable_and_never_the_key(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    bad_key = "not-a-valid-provider-key-4242"
    server, _ = start(gateway_config(emulator, tmp_path / "ledger.db"), {"EMU_KEY": bad_key})
    with (
        server,
        sdk(server.base_url) as client,
        pytest.raises(openai.AuthenticationError) as raised,
    ):
        client.chat.completions.create(model="gpt-5.4-mini", messages=MESSAGES)
    text = raised.value.response.text
    assert "$EMU_KEY" in raised.value.message
    assert "4242" not in text
    assert bad_key[:6] not in text
    assert PROVIDER_KEY not in text


def test_a_stream_cut_after_events_reached_the_client_ends_with_an_error_event(
    client: OpenAI, gateway: Running
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-5.4-mini",
        messages=MESSAGES,
        stream=True,
        extra_headers=fault("cut=3"),
    )
    received: list[object] = []
    with pytest.raises(openai.APIError) as raised:
        received.extend(raw.parse())
    assert received, "the events before the cut were relayed"
    assert "broke" in raised.value.message
    record = gateway.record(raw.headers["x-laneway-request-id"])
    assert record.status == "broken"
    assert record.error is not None
    assert "broke" in record.error
    assert len(record.attempts) == 1  # no fallback once bytes reached the client


def test_a_responses_stream_cut_ends_with_an_error_event(gateway: Running) -> None:
    body = {"model": "gpt-5.4-mini", "input": "hi", "stream": True}
    headers = {"authorization": "Bearer x", "x-emulator-fault": "cut=4"}
    answer = httpx.post(f"{gateway.base_url}/responses", json=body, headers=headers, timeout=10)
    events = [block for block in answer.text.split("\n\n") if block]
    assert len(events) == 5
    assert events[-1].startswith("event: error\ndata: ")
    assert '"type":"error"' in events[-1]
    assert '"sequence_number":4' in events[-1]


def test_a_stream_cut_before_its_first_event_is_retried(client: OpenAI, gateway: Running) -> None:
    records = []
    for _ in range(6):  # the fault hits about half of the attempts, deterministically
        raw = client.responses.with_raw_response.create(
            model="gpt-5.4-mini", input="hi", stream=True, extra_headers=fault("cut=0;share=0.5")
        )
        assert list(raw.parse())[-1].type == "response.completed"
        records.append(gateway.record(raw.headers["x-laneway-request-id"]))
    assert all(record.status == "ok" for record in records)
    retried = [record for record in records if len(record.attempts) > 1]
    assert retried, "no attempt was cut"
    cut = retried[0].attempts[0]
    assert cut.status == 200
    assert cut.error is not None
    assert cut.error.startswith("body broken")
