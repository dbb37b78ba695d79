"""Malformed fields the emulator once answered with a traceback and a 500 (which a gateway then
retried): OpenAI's 400, its `invalid_request_error` with the param named."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest

from laneway.emulator.server import EmulatorServer

USER = {"role": "user", "content": "hi"}


def post(emulator: EmulatorServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{emulator.base_url}{path}", json=body, headers={"authorization": "Bearer sk-test"}
    )


@pytest.mark.parametrize(
    ("tool_calls", "param"),
    [
        (5, "messages[1].tool_calls"),
        ("call", "messages[1].tool_calls"),
        ({"id": "x"}, "messages[1].tool_calls"),
        ([5], "messages[1].tool_calls[0]"),
    ],
)
def test_tool_calls_of_the_wrong_type_are_a_400_naming_them(
    emulator: EmulatorServer, tool_calls: object, param: str
) -> None:
    assistant = {"role": "assistant", "content": None, "tool_calls": tool_calls}
    body = {"model": "gpt-5.4-mini", "messages": [USER, assistant, USER]}
    answer = post(emulator, "/chat/completions", body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error == {
        "message": error["message"],
        "type": "invalid_request_error",
        "param": param,
        "code": "invalid_type",
    }


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize("path", ["/chat/completions", "/responses"])
def test_tool_parameters_nested_too_deep_are_a_400(emulator: EmulatorServer, path: str) -> None:
    function = {"name": "f", "parameters": _deep(300)}
    if path == "/responses":
        body = {"model": "gpt-5.4-mini", "input": "hi", "tools": [{"type": "function", **function}]}
    else:
        body = {
            "model": "gpt-5.4-mini",
            "messages": [USER],
            "tools": [{"type": "function", "function": function}],
        }
    answer = post(emulator, path, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "json_too_deep"
