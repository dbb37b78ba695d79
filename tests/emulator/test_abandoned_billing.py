"""What the emulator bills for the calls it abandons: a hang it never answers, a stream it cuts.

Realistic by default: a provider bills what its model generated. A cut stream is billed its
input and the output in the events it sent; a hang (the answer generated, never sent) in full.
With `abandoned_billing = "none"` neither is billed. Each call's bill is read from the bill's
journal by the answer's `x-request-id`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest

from laneway.emulator.bill import BillEntry
from laneway.emulator.config import AbandonedBilling, EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.tokens import count_tokens
from laneway.usage import Usage

AUTH = {"Authorization": "Bearer sk-test"}
PROMPT = "Tell me about the sea, at some length please."
BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "responses": ("/responses", {"model": "gpt-5.4", "input": PROMPT}),
    "chat": (
        "/chat/completions",
        {"model": "gpt-5.4", "messages": [{"role": "user", "content": PROMPT}]},
    ),
    "reasoning": (
        "/responses",
        {"model": "gpt-5.2", "input": PROMPT, "reasoning": {"effort": "low"}},
    ),
}
TOOL = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {
    "q": {"type": "string"}}, "required": ["q"]}}  # fmt: skip
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "responses": ("/responses", {**BODIES["responses"][1], "tools": [TOOL],
                                 "tool_choice": "required"}),
    "chat": ("/chat/completions", {**BODIES["chat"][1], "tool_choice": "required", "tools": [
        {"type": "function", "function": {k: v for k, v in TOOL.items() if k != "type"}}]}),
}  # fmt: skip


def emulator(billing: AbandonedBilling | None) -> EmulatorServer:
    extra = {} if billing is None else {"abandoned_billing": billing}
    return EmulatorServer(
        EmulatorConfig(seed=5, speed=0, tier="none", journal_requests=100, **extra)
    )


@pytest.fixture(scope="module")
def realistic() -> Iterator[EmulatorServer]:
    with emulator(None) as server:
        yield server


@dataclass(frozen=True)
class Call:
    request_id: str
    text: str  # the body as read, up to where the emulator cut it


def call(
    server: EmulatorServer,
    name: str,
    fault: str | None,
    stream: bool,
    bodies: dict[str, tuple[str, dict[str, Any]]] = BODIES,
) -> Call:
    path, body = bodies[name]
    headers = {**AUTH, **({"x-emulator-fault": fault} if fault else {})}
    with (
        httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client,
        client.stream("POST", path, json={**body, "stream": stream}) as response,
    ):
        read = bytearray()
        try:
            for chunk in response.iter_raw():
                read += chunk
        except httpx.RemoteProtocolError:  # the cut
            assert fault is not None
        return Call(response.headers["x-request-id"], read.decode())


def billed(server: EmulatorServer, answered: Call) -> BillEntry | None:
    return server.engine.bill.billed(answered.request_id)


def hang(server: EmulatorServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            server.base_url + "/chat/completions",
            json=BODIES["chat"][1],
            headers={**AUTH, "x-emulator-fault": "hang"},
            timeout=0.3,
        )


def totals(server: EmulatorServer) -> tuple[int, int, int]:
    """Requests, input and output tokens billed so far."""
    rows = server.engine.bill.rows()
    return (
        sum(row.requests for row in rows),
        sum(row.input for row in rows),
        sum(row.output for row in rows),
    )


def output_in(events: str) -> str:
    """The output text a client read from a stream: text and argument deltas."""
    text = []
    for line in events.splitlines():
        if not line.startswith("data: {"):
            continue
        payload = json.loads(line[6:])
        if payload.get("type", "").endswith(".delta"):
            text.append(payload["delta"])
        for choice in payload.get("choices", []):
            text.append(choice["delta"].get("content") or "")
    return "".join(text)


@pytest.mark.parametrize("name", list(BODIES))
def test_an_answered_call_is_billed_its_usage(realistic: EmulatorServer, name: str) -> None:
    answered = call(realistic, name, None, stream=False)
    answer = json.loads(answered.text)
    entry = billed(realistic, answered)
    assert entry is not None
    usage = answer["usage"]
    assert entry.usage.input_tokens == usage.get("input_tokens", usage.get("prompt_tokens"))


@pytest.mark.parametrize("name", list(BODIES))
def test_a_cut_stream_is_billed_what_it_sent(realistic: EmulatorServer, name: str) -> None:
    whole = billed(realistic, call(realistic, name, None, stream=True))
    assert whole is not None
    cut = call(realistic, name, "cut=8", stream=True)
    entry = billed(realistic, cut)
    assert entry is not None
    sent = count_tokens(output_in(cut.text))
    assert 0 < sent < whole.usage.output_tokens - whole.usage.reasoning_tokens
    # Reasoning comes before any visible token: billed once output was sent.
    reasoning = whole.usage.reasoning_tokens
    assert (name == "reasoning") == (reasoning > 0)
    assert entry.usage == Usage(
        input_tokens=whole.usage.input_tokens,
        output_tokens=sent + reasoning,
        reasoning_tokens=reasoning,
    )


@pytest.mark.parametrize("name", list(CALLS))
def test_a_tool_call_cut_after_its_last_event_is_billed_in_full(
    realistic: EmulatorServer, name: str
) -> None:
    # Every event sent, then the connection dropped: the name and arguments were all written.
    whole = billed(realistic, call(realistic, name, None, stream=True, bodies=CALLS))
    cut = billed(realistic, call(realistic, name, "cut=40", stream=True, bodies=CALLS))
    assert whole is not None
    assert cut is not None
    assert cut.usage == whole.usage


def test_a_stream_cut_before_its_first_event_is_billed_its_input(
    realistic: EmulatorServer,
) -> None:
    whole = billed(realistic, call(realistic, "reasoning", None, stream=True))
    entry = billed(realistic, call(realistic, "reasoning", "cut=0", stream=True))
    assert whole is not None
    assert entry is not None
    assert entry.usage == Usage(input_tokens=whole.usage.input_tokens, output_tokens=0)


def test_a_hang_is_billed_as_generated_in_full(realistic: EmulatorServer) -> None:
    answered = billed(realistic, call(realistic, "chat", None, stream=False))
    assert answered is not None
    before = totals(realistic)
    hang(realistic)
    after = totals(realistic)
    # Same prompt, same answer: the hang is billed what the answered call was.
    usage = answered.usage
    assert after == (before[0] + 1, before[1] + usage.input_tokens, before[2] + usage.output_tokens)


def test_with_none_no_abandoned_call_is_billed() -> None:
    with emulator("none") as server:
        assert billed(server, call(server, "chat", "cut=6", stream=True)) is None
        hang(server)
        assert totals(server) == (0, 0, 0)
        assert billed(server, call(server, "chat", None, stream=True)) is not None


def test_the_journal_keeps_only_the_last_calls() -> None:
    with EmulatorServer(EmulatorConfig(speed=0, tier="none", journal_requests=2)) as server:
        first, *_, last = [call(server, "chat", None, stream=False) for _ in range(3)]
        assert billed(server, first) is None
        assert billed(server, last) is not None
