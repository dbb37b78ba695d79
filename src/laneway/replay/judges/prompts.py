"""What a judge is sent: a Responses body whose one user message states the judge's job, the
task (the line's request as a transcript) and the answer(s), and asks for a strict JSON verdict
(`text.format` json_schema).

The task is a transcript, one turn per line start: `[system] ...`, `[user] ...`,
`[assistant] ...`, `[call] name(arguments)`, `[tool] ...`, and `[tools] a, b` for the functions
the request offered. An answer is its text, then one `[call] name(arguments)` line per call.
laneway's emulator reads these prompts (laneway.emulator.judging anchors on the opening lines):
change the form in both places.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from laneway.wire.answers import AnswerView
from laneway.wire.request import Endpoint

RUBRIC_OPENING = "You are grading one answer to a task against a rubric."
PAIRWISE_OPENING = "You are comparing two answers to one task."

RUBRIC_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {"score": {"type": "integer"}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
    "additionalProperties": False,
}
PAIRWISE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "winner": {"type": "string", "enum": ["A", "B", "tie"]},
        "reason": {"type": "string"},
    },
    "required": ["winner", "reason"],
    "additionalProperties": False,
}


def rubric_prompt(rubric: str, scale: tuple[int, int], task: str, answer: str) -> str:
    low, high = scale
    return (
        f"{RUBRIC_OPENING}\n"
        f"Scale: an integer from {low} to {high}, where {low} is the worst answer and {high} "
        "the best.\n"
        'Reply with a JSON object only: {"score": <integer>, "reason": "<one sentence>"}.\n\n'
        f"Rubric:\n{rubric}\n\n<task>\n{task}\n</task>\n\n<answer>\n{answer}\n</answer>"
    )


def pairwise_prompt(criteria: str | None, task: str, first: str, second: str) -> str:
    judged_by = f"Criteria:\n{criteria}\n\n" if criteria else ""
    return (
        f"{PAIRWISE_OPENING}\n"
        "Say which answer is better, or tie when neither is. Judge the content, not the order "
        "or the length.\n"
        'Reply with a JSON object only: {"winner": "A" | "B" | "tie", "reason": '
        '"<one sentence>"}.\n\n'
        f"{judged_by}<task>\n{task}\n</task>\n\n"
        f"<answer_a>\n{first}\n</answer_a>\n\n<answer_b>\n{second}\n</answer_b>"
    )


def judge_body(
    model: str,
    effort: str | None,
    max_output_tokens: int,
    prompt: str,
    verdict: tuple[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The Responses request: `verdict` is the JSON format's (name, schema)."""
    name, schema = verdict
    body: dict[str, Any] = {
        "model": model,
        "input": prompt,
        "max_output_tokens": max_output_tokens,
        "store": False,
        "text": {"format": {"type": "json_schema", "name": name, "strict": True, "schema": schema}},
    }
    if effort is not None:
        body["reasoning"] = {"effort": effort}
    return body


def answer_text(answer: AnswerView) -> str:
    lines = [answer.text] if answer.text else []
    lines += [f"[call] {call.name}({call.arguments})" for call in answer.tool_calls]
    return "\n".join(lines)


def task_text(endpoint: Endpoint, request: Mapping[str, Any]) -> str:
    """The request as a transcript (see the module docstring)."""
    turns = _chat_turns(request) if endpoint == "chat" else _responses_turns(request)
    tools = _tool_names(endpoint, request)
    if tools:
        turns.append(f"[tools] {', '.join(tools)}")
    return "\n".join(turns)


def _responses_turns(request: Mapping[str, Any]) -> list[str]:
    turns = []
    if isinstance(request.get("instructions"), str):
        turns.append(f"[system] {request['instructions']}")
    given = request.get("input")
    if isinstance(given, str):
        return [*turns, f"[user] {given}"]
    for item in given if isinstance(given, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" and isinstance(item.get("role"), str):
            turns.append(f"[{item['role']}] {_content(item.get('content'))}")
        elif kind == "function_call":
            turns.append(f"[call] {item.get('name', '')}({item.get('arguments', '')})")
        elif kind == "function_call_output":
            turns.append(f"[tool] {_content(item.get('output'))}")
    return turns


def _chat_turns(request: Mapping[str, Any]) -> list[str]:
    turns = []
    for message in request.get("messages") or ():
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            continue
        role = message["role"]
        content = _content(message.get("content"))
        if content or role != "assistant":
            turns.append(f"[{role}] {content}")
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                turns.append(f"[call] {function.get('name', '')}({function.get('arguments', '')})")
    return turns


def _content(content: Any) -> str:
    """A message's text: a string, or its parts' texts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _tool_names(endpoint: Endpoint, request: Mapping[str, Any]) -> list[str]:
    names = []
    for tool in request.get("tools") or ():
        if not isinstance(tool, dict):
            continue
        named = tool.get("function") if endpoint == "chat" else tool
        if isinstance(named, dict) and isinstance(named.get("name"), str):
            names.append(named["name"])
    return names
