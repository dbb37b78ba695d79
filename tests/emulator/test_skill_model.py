"""The skill model through the live emulator on sockets: the demo workload graded all right at
accuracy 1 and all wrong at 0, measured accuracy ordered and near the table, repeats as fresh
draws, the repeat header checked, usage and streams honest, plain prompts answered as before."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from openai import OpenAI

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.emulator.skill_tasks import FAMILIES
from laneway.emulator.skills import SkillsConfig
from laneway.replay.demo import DEMO_WORKLOAD
from laneway.replay.graders import grade
from laneway.replay.workload import Workload
from laneway.tokens import count_tokens
from laneway.wire.answers import AnswerView, answer_of
from laneway.wire.batch_lines import BatchLine

DEMO = tuple(Workload.load(DEMO_WORKLOAD).lines())
ORDER = ("gpt-5.4-nano", "gpt-5.4-mini", "gpt-5.2", "gpt-5.4")
LEVEL = dict.fromkeys(FAMILIES, 0.0)
CLASSIFY = (
    "Classify the sentiment of this review. Choose one label from: positive, negative, "
    "neutral. Answer with the label only.\n\nReview: The battery died after two days."
)


class Emulated:
    """A live emulator and a plain HTTP client that posts workload lines to it."""

    def __init__(self, server: EmulatorServer, http: httpx.Client) -> None:
        self.server, self.http = server, http

    def post(self, line: BatchLine, model: str | None = None, repeat: int | None = None) -> Any:
        body = dict(line.body, model=model or line.body["model"])
        headers = {} if repeat is None else {"x-emulator-repeat": str(repeat)}
        path = "/responses" if line.endpoint == "responses" else "/chat/completions"
        answer = self.http.post(self.server.base_url + path, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def answer(self, line: BatchLine, model: str | None = None, repeat: int = 0) -> AnswerView:
        return answer_of(line.endpoint, self.post(line, model, repeat))

    def score(self, line: BatchLine, model: str | None = None, repeat: int = 0) -> float:
        grades = grade(self.answer(line, model, repeat), line.expect)
        assert grades
        assert all(g.value is not None for g in grades), grades
        return sum(g.value or 0.0 for g in grades) / len(grades)


def _emulated(skills: SkillsConfig) -> Iterator[Emulated]:
    config = EmulatorConfig(seed=7, speed=0, tier="none", skills=skills)
    auth = {"authorization": "Bearer sk-test"}
    with EmulatorServer(config) as server, httpx.Client(headers=auth, timeout=30) as http:
        yield Emulated(server, http)


@pytest.fixture(scope="module")
def usual() -> Iterator[Emulated]:
    yield from _emulated(SkillsConfig())


def _forced(chance: float) -> SkillsConfig:
    return SkillsConfig(accuracy={"gpt-5.2": {"none": chance}}, difficulty=LEVEL)


def test_every_demo_line_grades_right_when_the_model_is_always_right() -> None:
    for emulated in _emulated(_forced(1.0)):
        scores = {line.custom_id: emulated.score(line) for line in DEMO}
        assert set(scores.values()) == {1.0}, [k for k, v in scores.items() if v != 1.0]


def test_every_demo_line_grades_wrong_when_the_model_is_never_right() -> None:
    for emulated in _emulated(_forced(0.0)):
        scores = {line.custom_id: emulated.score(line) for line in DEMO}
        assert set(scores.values()) == {0.0}, [k for k, v in scores.items() if v != 0.0]


def _family(line: BatchLine) -> str:
    return line.custom_id.split("-", 2)[2]


def test_measured_accuracy_orders_the_models_near_the_table(usual: Emulated) -> None:
    skills, repeats, measured = SkillsConfig(), 3, []
    for model in ORDER:
        chances = [skills.chance(model, "none", _family(line)) for line in DEMO] * repeats
        right = sum(usual.score(line, model, repeat) for repeat in range(repeats) for line in DEMO)
        spread = math.sqrt(sum(p * (1 - p) for p in chances))  # binomial: a sum of Bernoullis
        assert abs(right - sum(chances)) <= 3.5 * spread, (model, right, sum(chances))
        measured.append(right / len(chances))
    assert measured == sorted(measured), measured
    assert len(set(measured)) == len(measured), measured


def test_each_repeat_is_a_fresh_draw_and_the_same_repeat_the_same_answer(
    usual: Emulated,
) -> None:
    model, skills = "gpt-5.4-mini", SkillsConfig()
    differ = 0
    for line in DEMO:
        first = usual.score(line, model, repeat=0)
        assert usual.answer(line, model, repeat=0) == usual.answer(line, model, repeat=0)
        differ += first != usual.score(line, model, repeat=1)
    # Two independent draws at chance p disagree with probability 2p(1 - p).
    chances = [skills.chance(model, "none", _family(line)) for line in DEMO]
    expected = sum(2 * p * (1 - p) for p in chances)
    spread = math.sqrt(sum(2 * p * (1 - p) * (1 - 2 * p * (1 - p)) for p in chances))
    assert abs(differ - expected) <= 3.5 * spread, (differ, expected)


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "", "0x10", "1234567890", "\u0661"])
def test_a_malformed_repeat_header_is_a_400_naming_no_param(usual: Emulated, value: str) -> None:
    answer = usual.http.post(
        usual.server.base_url + "/responses",
        json={"model": "gpt-5.4", "input": CLASSIFY},
        headers={b"x-emulator-repeat": value.encode()},
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None
    assert "x-emulator-repeat" in error["message"]


# Answers to prompts that are no task, as they were before the skill model (seed 7).
PINNED_RESPONSES = "82c63967"
PINNED_CHAT = "37406ccb"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def test_prompts_outside_the_families_are_answered_as_before(client: OpenAI) -> None:
    for repeat in ("0", "3"):  # and the repeat changes nothing for them
        response = client.responses.create(
            model="gpt-5.4",
            input="What is the best lane for a long report?",
            reasoning={"effort": "low"},
            extra_headers={"x-emulator-repeat": repeat},
        )
        assert response.output_text.startswith("Will with who part out route by system")
        assert _digest(response.output_text) == PINNED_RESPONSES
        assert response.usage is not None
        assert (
            response.usage.output_tokens,
            response.usage.output_tokens_details.reasoning_tokens,
        ) == (303, 157)
        chat = client.chat.completions.create(
            model="gpt-5.4-mini", messages=[{"role": "user", "content": "Classify this."}]
        )
        text = chat.choices[0].message.content or ""
        assert _digest(text) == PINNED_CHAT
        assert chat.usage is not None
        assert chat.usage.completion_tokens == 110


def test_usage_counts_the_answer_and_streams_carry_it_whole(client: OpenAI) -> None:
    for effort in ("none", "medium"):
        whole = client.responses.create(
            model="gpt-5.4", input=CLASSIFY, reasoning={"effort": effort}
        )
        assert whole.output_text in ("positive", "negative", "neutral")
        assert whole.usage is not None
        reasoning = whole.usage.output_tokens_details.reasoning_tokens
        assert whole.usage.output_tokens == count_tokens(whole.output_text) + reasoning
        with client.responses.stream(
            model="gpt-5.4", input=CLASSIFY, reasoning={"effort": effort}
        ) as stream:
            streamed = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
            final = stream.get_final_response()
        assert streamed == whole.output_text == final.output_text
        assert final.usage == whole.usage
    messages: Any = [{"role": "user", "content": CLASSIFY}]
    chat = client.chat.completions.create(model="gpt-5.4", messages=messages)
    answer = chat.choices[0].message.content or ""
    assert chat.usage is not None
    assert chat.usage.completion_tokens == count_tokens(answer)
    with client.chat.completions.stream(model="gpt-5.4", messages=messages) as chunks:
        deltas = "".join(e.delta for e in chunks if e.type == "content.delta")
    assert deltas == answer


def test_max_output_tokens_cuts_a_skill_answer_which_then_grades_wrong(client: OpenAI) -> None:
    cap = 16  # OpenAI's least max_output_tokens
    line = next(
        line
        for line in DEMO
        if line.endpoint == "responses"
        and "json_fields" in line.expect
        and count_tokens(orjson.dumps(line.expect["json_fields"]).decode()) > cap
    )
    cut = client.responses.create(model="gpt-5.4", input=line.body["input"], max_output_tokens=cap)
    assert cut.status == "incomplete"
    assert cut.usage is not None
    assert cut.usage.output_tokens == cap == count_tokens(cut.output_text)
    assert [g.value for g in grade(AnswerView(cut.output_text), line.expect)] == [0.0]


def test_a_text_task_offered_a_function_is_answered_as_any_prompt(client: OpenAI) -> None:
    tool: Any = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
    question = "What is 37 * 12 + 5? Answer with the number only."
    plain = client.responses.create(model="gpt-5.4", input=question, tools=[tool])
    assert len(plain.output_text.split()) > 3  # the usual words, no sum


def test_a_task_whose_reasoning_reaches_the_cap_is_incomplete_with_no_answer(
    client: OpenAI,
) -> None:
    cut = client.responses.create(
        model="gpt-5.4", input=CLASSIFY, reasoning={"effort": "high"}, max_output_tokens=16
    )
    assert cut.status == "incomplete"
    assert cut.output_text == ""
    assert cut.usage is not None
    assert cut.usage.output_tokens == cut.usage.output_tokens_details.reasoning_tokens == 16


def test_a_tool_task_is_a_call_only_where_the_request_lets_the_model_call(
    client: OpenAI,
) -> None:
    line = next(line for line in DEMO if "tool_call" in line.expect and "input" in line.body)
    tools, text = line.body["tools"], line.body["input"]
    called = client.responses.create(model="gpt-5.4", input=text, tools=tools)
    [call] = [item for item in called.output if item.type == "function_call"]
    assert call.name == line.expect["tool_call"]["name"]
    refused = client.responses.create(model="gpt-5.4", input=text, tools=tools, tool_choice="none")
    assert [item.type for item in refused.output] == ["message"]
    # The whole conversation in one input: the task, the call, its output; now a message.
    conversation: Any = [
        {"role": "user", "content": text},
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "18C"},
    ]
    answered = client.responses.create(model="gpt-5.4", input=conversation, tools=tools)
    assert [item.type for item in answered.output] == ["message"]
