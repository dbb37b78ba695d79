"""The emulator's judge through the live emulator on sockets (the official SDK as client): it
reads laneway's judge prompts, decides by the task families' own solutions, errs exactly as
`[skills.judge]` says, draws afresh per repeat, and `[skills.judge]` is validated at load. And
the families' `accepts` agrees with laneway's graders on the demo's expectations."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai import OpenAI

from laneway.emulator.config import EmulatorConfig, EmulatorConfigError
from laneway.emulator.judging import last_user_turn, shown_answer
from laneway.emulator.server import EmulatorServer
from laneway.emulator.skill_tasks import FAMILIES, Answer
from laneway.emulator.skills import JudgeSkill, SkillsConfig
from laneway.replay.demo import expectation
from laneway.replay.graders import grade
from laneway.replay.judges.prompts import (
    PAIRWISE_SCHEMA,
    RUBRIC_SCHEMA,
    answer_text,
    pairwise_prompt,
    rubric_prompt,
    task_text,
)
from laneway.wire.answers import AnswerView
from tests.replay.judging import pairs, view
from tests.sdk import sdk

SCALE = (1, 5)
PAIRS = pairs(25, seed=9)  # five of each family
UNKNOWN = {"model": "gpt-5.4-mini", "input": "Write a haiku about the sea."}


class Judging:
    def __init__(self, client: OpenAI) -> None:
        self.client = client

    def verdict(self, prompt: str, schema: Any, repeat: int | None = None) -> Any:
        text = self.text(prompt, schema, repeat)
        return orjson.loads(text)

    def text(self, prompt: str, schema: Any, repeat: int | None = None) -> str:
        response = self.client.responses.create(
            model="gpt-5.4",
            input=prompt,
            text={"format": {"type": "json_schema", "name": "v", "strict": True, "schema": schema}},
            extra_headers={} if repeat is None else {"x-emulator-repeat": str(repeat)},
        )
        return response.output_text

    def score(self, request: dict[str, Any], answer: AnswerView, repeat: int | None = None) -> int:
        prompt = rubric_prompt("Right or not.", SCALE, _task(request), answer_text(answer))
        return int(self.verdict(prompt, RUBRIC_SCHEMA, repeat)["score"])

    def winner(self, request: dict[str, Any], a: AnswerView, b: AnswerView) -> str:
        prompt = pairwise_prompt(None, _task(request), answer_text(a), answer_text(b))
        return str(self.verdict(prompt, PAIRWISE_SCHEMA)["winner"])


def _task(request: dict[str, Any]) -> str:
    return task_text("responses", request)


@pytest.fixture
def judging(request: pytest.FixtureRequest) -> Iterator[Judging]:
    skills = SkillsConfig(judge=JudgeSkill(**request.param))
    with (
        EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none", skills=skills)) as server,
        sdk(server.base_url) as client,
    ):
        yield Judging(client)


def _judge(**judge: float) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("judging", [judge], indirect=True)


@_judge(accuracy=1.0)
def test_an_accurate_judge_scores_right_answers_top_and_wrong_bottom(judging: Judging) -> None:
    for pair in PAIRS:
        assert judging.score(pair.request, pair.right) == SCALE[1], pair.request
        assert judging.score(pair.request, pair.wrong) == SCALE[0], pair.request


@_judge(accuracy=0.0)
def test_an_always_wrong_judge_scores_the_opposite(judging: Judging) -> None:
    for pair in PAIRS[:10]:
        assert judging.score(pair.request, pair.right) == SCALE[0]
        assert judging.score(pair.request, pair.wrong) == SCALE[1]


@_judge(accuracy=1.0)
def test_an_unbiased_accurate_judge_picks_the_right_answer_in_either_place(
    judging: Judging,
) -> None:
    for pair in PAIRS:
        assert judging.winner(pair.request, pair.right, pair.wrong) == "A"
        assert judging.winner(pair.request, pair.wrong, pair.right) == "B"
        assert judging.winner(pair.request, pair.right, pair.right) == "tie"


@_judge(accuracy=1.0, position_bias=1.0)
def test_a_wholly_biased_judge_picks_the_first_answer_shown(judging: Judging) -> None:
    for pair in PAIRS[:10]:
        assert judging.winner(pair.request, pair.wrong, pair.right) == "A"


@_judge(accuracy=1.0)
def test_a_task_no_family_knows_is_scored_at_random_on_the_scale_and_a_tie(
    judging: Judging,
) -> None:
    scores = {judging.score(UNKNOWN, AnswerView(f"The sea, take {n}.")) for n in range(30)}
    assert scores <= set(range(SCALE[0], SCALE[1] + 1))
    assert len(scores) >= 3
    assert judging.winner(UNKNOWN, AnswerView("one"), AnswerView("two")) == "tie"


@_judge(accuracy=0.5)
def test_the_same_prompt_gets_the_same_verdict_and_each_repeat_a_fresh_one(
    judging: Judging,
) -> None:
    pair = PAIRS[0]
    by_repeat = [judging.score(pair.request, pair.right, repeat) for repeat in range(30)]
    assert set(by_repeat) == set(SCALE)
    again = [judging.score(pair.request, pair.right, repeat) for repeat in range(30)]
    assert again == by_repeat


@_judge(malformed=1.0)
def test_a_malformed_judge_answers_in_plain_text(judging: Judging) -> None:
    prompt = rubric_prompt("r", SCALE, _task(PAIRS[0].request), answer_text(PAIRS[0].right))
    text = judging.text(prompt, RUBRIC_SCHEMA)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)


def test_skills_judge_is_read_and_validated_at_load(tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text("[skills.judge]\naccuracy = 0.8\nposition_bias = 0.3\n")
    assert EmulatorConfig.load(path).skills.judge == JudgeSkill(accuracy=0.8, position_bias=0.3)
    for bad in ("position_bias = 1.5", "accuracy = -0.1", "bias = 0.3"):
        path.write_text(f"[skills.judge]\n{bad}\n")
        with pytest.raises(EmulatorConfigError, match="judge"):
            EmulatorConfig.load(path)


def test_the_last_user_turn_and_the_answer_are_read_back_from_the_transcript() -> None:
    chat = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello."},
            {"role": "assistant", "content": None, "tool_calls": [_call("f", "{}")]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "user", "content": [{"type": "text", "text": "What is 2 + 3?\nJust it."}]},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    }
    task = task_text("chat", chat)
    assert task.splitlines()[:4] == [
        "[system] Be brief.",
        "[user] Hello.",
        "[call] f({})",
        "[tool] 42",
    ]
    assert last_user_turn(task) == "What is 2 + 3?\nJust it."
    shown = answer_text(
        AnswerView("Sure.", (view(FAMILIES["tool_call"].solve(_weather())).tool_calls))
    )
    read = shown_answer(shown)
    assert (read.text, read.call_name) == ("Sure.", "get_weather")
    assert orjson.loads(read.call_arguments or "") == {"city": "Porto", "unit": "celsius"}


def _reworded(answer: Answer) -> Answer:
    """The same answer as a model may put it: JSON spaced out, text in a sentence."""
    if answer.call_name is not None:
        spaced = json.dumps(orjson.loads(answer.call_arguments or ""), indent=1)
        return Answer(call_name=answer.call_name, call_arguments=spaced)
    text = answer.text or ""
    if text.startswith("{"):
        return Answer(json.dumps(orjson.loads(text), indent=1))
    return Answer(f"The answer: {text}.")


def _call(name: str, arguments: str) -> dict[str, Any]:
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}


def _weather() -> Any:
    found = FAMILIES["tool_call"].recognise(
        "Use the get_weather tool to get the weather in Porto in celsius."
    )
    assert found is not None
    return found


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_accepts_agrees_with_laneways_graders_on_the_demos_expectations(family: str) -> None:
    draw = random.Random(family)
    kind = FAMILIES[family]
    for _ in range(40):
        task = kind.recognise(kind.sample(draw).text)
        assert task is not None
        right = kind.solve(task)
        expect = expectation(family, right)
        wrong = kind.wrong(task, draw)
        for answer in (right, wrong, _reworded(right), _reworded(wrong)):
            grades = grade(view(answer), expect)
            passed = all(g.value == 1.0 for g in grades)
            assert kind.accepts(task, answer) == passed, (answer, expect)
        assert kind.accepts(task, right)
