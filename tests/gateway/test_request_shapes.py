"""Worst cases that hold under every request shape, no number that yields a 500, and small
budgets a team can use: through the official SDK, one gateway process (memory state) in front
of the emulator. (Across replicas sharing Redis: tests/gateway/test_shapes_replicas.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx2 as httpx
import openai
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.server.run import GatewayServer
from tests.gateway.conftest import BROKEN_MODEL, PROVIDER_KEY, create_key, gateway_config
from tests.gateway.test_virtual_keys import burst
from tests.sdk import sdk

ADMIN_KEY = "admin-secret-for-shape-tests-0123456789"
ENV = {"EMU_KEY": PROVIDER_KEY, "LANEWAY_ADMIN_KEY": ADMIN_KEY}
MINI = "gpt-5.4-mini"
# A lane whose allowance at effort none (16 tokens) is shorter than any emulated answer (24+).
LANES = {"terse": {"candidates": [MINI], "effort": "none", "output_allowance": 16}}


@pytest.fixture(scope="module")
def server(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayServer]:
    ledger = tmp_path_factory.mktemp("shapes") / "ledger.db"
    config = gateway_config(emulator, ledger, keys={"refresh_s": 0.2}, lanes=LANES)
    with GatewayServer(config, ENV) as running:
        yield running


def records_of(server: GatewayServer, key_id: str) -> list[LedgerRecord]:
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    return [r for r in assembly.ledger.between(None, None) if r.key_id == key_id]


def spent(records: list[LedgerRecord]) -> Decimal:
    return sum((r.cost_usd or Decimal(0) for r in records), Decimal(0))


# -- what multiplies output --------------------------------------------------------------------


def test_chat_n_counts_every_choice_in_the_worst_case(server: GatewayServer) -> None:
    # The reproduction: 10 of 30 were admitted and settled $0.034 against $0.01.
    budget = Decimal("0.01")
    key, key_id = create_key(server, ADMIN_KEY, name="n-choices", budgets=[f"{budget}/lifetime"])

    async def send(client: openai.AsyncOpenAI) -> object:
        return await client.chat.completions.create(
            model=MINI,
            messages=[{"role": "user", "content": "Write a paragraph."}],
            n=8,
            max_completion_tokens=200,
        )

    outcomes = burst(server, key, 30, send)
    assert set(outcomes) <= {"served", "insufficient_quota"}
    assert 0 < outcomes.count("served") < 30
    assert 0 < spent(records_of(server, key_id)) <= budget


# -- no number yields a 500 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [
        ("responses", "max_output_tokens"),
        ("chat", "max_completion_tokens"),
        ("chat", "max_tokens"),
    ],
)
def test_an_output_cap_above_the_models_max_is_openais_400(
    server: GatewayServer, endpoint: str, field: str
) -> None:
    key, _ = create_key(server, ADMIN_KEY, name=f"huge-{endpoint}-{field}", budgets=["1/day"])
    body: dict[str, Any] = {"model": MINI, field: 10**18}
    body.update(
        {"input": "hi"}
        if endpoint == "responses"
        else {"messages": [{"role": "user", "content": "hi"}]}
    )
    answer = httpx.post(
        f"{server.base_url}/{'responses' if endpoint == 'responses' else 'chat/completions'}",
        headers={"authorization": f"Bearer {key}"},
        json=body,
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_value",
        field,
    )
    assert "128000" in error["message"]


NUMBERS: st.SearchStrategy[Any] = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 15, 16, 127_999, 128_000, 128_001, 10**18, 2**63, 2**64]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 0.5, True, False, None, "16", [], {}]),
)
RESPONSES_FIELDS = ("max_output_tokens", "temperature", "top_p", "top_logprobs")
CHAT_FIELDS = ("max_completion_tokens", "max_tokens", "n", "temperature", "seed", "top_p")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    chat=st.booleans(),
    values=st.dictionaries(st.sampled_from(CHAT_FIELDS + RESPONSES_FIELDS), NUMBERS, max_size=3),
)
def test_no_number_in_a_budgeted_request_yields_a_5xx(
    fuzz_key: tuple[str, str], chat: bool, values: dict[str, Any]
) -> None:
    base_url, key = fuzz_key
    fields = CHAT_FIELDS if chat else RESPONSES_FIELDS
    body: dict[str, Any] = {k: v for k, v in values.items() if k in fields}
    body["model"] = MINI
    if chat:
        body["messages"] = [{"role": "user", "content": "hi"}]
    else:
        body["input"] = "hi"
    answer = httpx.post(
        f"{base_url}/{'chat/completions' if chat else 'responses'}",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        content=orjson.dumps(body, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
        if all(not isinstance(v, int) or abs(v) < 2**63 for v in body.values())
        else _json_big(body),
        timeout=20,
    )
    assert answer.status_code < 500, (body, answer.text)
    if answer.status_code >= 400:
        assert set(answer.json()["error"]) == {"message", "type", "param", "code"}


def _json_big(body: dict[str, Any]) -> bytes:
    """JSON with integers past 64 bits (orjson writes none)."""
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def fuzz_key(server: GatewayServer) -> tuple[str, str]:
    key, _ = create_key(server, ADMIN_KEY, name="fuzz", budgets=["1000/day"], tpm=10**9)
    return server.base_url, key


# -- small budgets a team can use ---------------------------------------------------------------


def test_a_few_cents_serve_dozens_of_short_requests(server: GatewayServer) -> None:
    # Before: the whole 128K max output was reserved ($0.58 on gpt-5.4-mini): the first refused.
    budget = Decimal("0.03")
    key, key_id = create_key(server, ADMIN_KEY, name="few-cents", budgets=[f"{budget}/day"])
    with sdk(server.base_url, key) as client:
        for _ in range(36):
            answer = client.responses.with_raw_response.create(model=MINI, input="Say hi.")
            assert answer.headers["x-laneway-output-cap"] == "4096"  # 1024 x 4 (no effort)
            parsed = answer.parse()
            assert parsed.status == "completed"
            assert parsed.max_output_tokens == 4096  # the cap reached upstream
        chat = client.chat.completions.with_raw_response.create(
            model=MINI, messages=[{"role": "user", "content": "hi"}], reasoning_effort="low"
        )
        assert chat.headers["x-laneway-output-cap"] == "2048"
    records = records_of(server, key_id)
    assert len(records) == 37
    assert {r.output_cap for r in records} == {4096, 2048}
    assert spent(records) <= budget


def test_no_cap_is_set_without_a_budget_or_when_the_client_set_one(
    server: GatewayServer,
) -> None:
    free, free_id = create_key(server, ADMIN_KEY, name="no-budget")
    with sdk(server.base_url, free) as client:
        answer = client.responses.with_raw_response.create(model=MINI, input="Say hi.")
        assert "x-laneway-output-cap" not in answer.headers
        assert answer.parse().max_output_tokens is None
    budgeted, budgeted_id = create_key(server, ADMIN_KEY, name="own-cap", budgets=["1/day"])
    with sdk(server.base_url, budgeted) as client:
        answer = client.responses.with_raw_response.create(
            model=MINI, input="Say hi.", max_output_tokens=300
        )
        assert "x-laneway-output-cap" not in answer.headers
        assert answer.parse().max_output_tokens == 300
    assert [r.output_cap for r in records_of(server, free_id)] == [None]
    assert [r.output_cap for r in records_of(server, budgeted_id)] == [None]


def test_an_answer_cut_by_laneways_cap_is_marked_as_openai_marks_it(
    server: GatewayServer,
) -> None:
    key, key_id = create_key(server, ADMIN_KEY, name="terse", budgets=["1/day"])
    lane = "lane:terse"
    with sdk(server.base_url, key) as client:
        whole = client.responses.with_raw_response.create(model=lane, input="Write an essay.")
        assert whole.headers["x-laneway-output-cap"] == "16"
        response = whole.parse()
        assert response.status == "incomplete"
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
        # Streamed, it ends as OpenAI ends a cut stream: `response.incomplete`.
        events = list(client.responses.create(model=lane, input="Write an essay.", stream=True))
        assert events[-1].type == "response.incomplete"
        final = events[-1].response
        assert final.status == "incomplete"
        assert final.incomplete_details is not None
        assert final.incomplete_details.reason == "max_output_tokens"
        chat = client.chat.completions.create(
            model=lane, messages=[{"role": "user", "content": "Write an essay."}], n=2
        )
        assert [choice.finish_reason for choice in chat.choices] == ["length", "length"]
        chunks = client.chat.completions.create(
            model=lane, messages=[{"role": "user", "content": "Write an essay."}], stream=True
        )
        reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert reasons[-1] == "length"
    records = records_of(server, key_id)
    assert len(records) == 4
    assert {r.output_cap for r in records} == {16}
    assert all(r.usage is not None and r.usage.output_tokens <= 16 * 2 for r in records)


def test_a_refusal_says_what_was_reserved_why_and_how_to_fit(server: GatewayServer) -> None:
    key, key_id = create_key(server, ADMIN_KEY, name="tenth-of-a-cent", budgets=["0.001/day"])
    with sdk(server.base_url, key) as client, pytest.raises(openai.RateLimitError) as refused:
        client.responses.create(model="gpt-5.4", input="hi")
    error = refused.value
    assert (error.status_code, error.code) == (429, "insufficient_quota")
    message = error.message
    assert f"key:{key_id}:day" in message
    assert "USD reserved" in message
    assert "gpt-5.4: input up to" in message
    assert "x $2.5/1M" in message
    assert "output up to 4,096 tokens x $15/1M" in message
    assert "output allowance" in message
    assert "To fit:" in message
    assert "raise the budget" in message
    # Chat with n: the choices are named as a factor.
    with sdk(server.base_url, key) as client, pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(
            model="gpt-5.4",
            messages=[{"role": "user", "content": "hi"}],
            n=4,
            max_completion_tokens=100,
        )
    assert "x 4 choices (n)" in refused.value.message
    assert "the request's own cap" in refused.value.message


def test_the_cap_rides_a_fallback_to_another_model(server: GatewayServer) -> None:
    # gpt-5.2 always answers 503 here and falls back to gpt-5.4: the body is written again for
    # the new model, with the cap in it.
    key, key_id = create_key(server, ADMIN_KEY, name="fallback", budgets=["1/day"])
    with sdk(server.base_url, key) as client:
        answer = client.responses.with_raw_response.create(model=BROKEN_MODEL, input="Say hi.")
    assert answer.headers["x-laneway-model"] == "gpt-5.4"
    assert answer.headers["x-laneway-output-cap"] == "4096"
    assert answer.parse().max_output_tokens == 4096
    assert [r.output_cap for r in records_of(server, key_id)] == [4096]
