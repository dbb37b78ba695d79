"""The rubric and pairwise judges through a gateway in-process to a live emulator: scores mapped
from the stated scale, each judge call's record and exact cost returned apart from the candidate's
(and the same as the ledger's), a judge answer that does not parse or a failed judge call made a
grader error (never a score), the run's spend cap held and charged, fresh draws per repeat; and
the judges' config and reply reading on their own."""

from __future__ import annotations

import asyncio
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from laneway.replay.graders import Grade
from laneway.replay.judges import (
    GatewayAsk,
    JudgeConfig,
    Judged,
    JudgeTally,
    JudgeTask,
    PairwiseJudgeConfig,
    RubricJudgeConfig,
    build_judge,
    position_flips,
)
from laneway.replay.judges.replies import JudgeReplyError, read_score, read_winner
from laneway.replay.spend_cap import SpendCap
from laneway.wire.answers import AnswerView
from tests.paths import REPO
from tests.replay.judging import JUDGE, gateway_to, judging_emulator, pairs
from tests.replay.runs import gateway_config as ledger_at
from tests.replay.runs import records

PAIR = pairs(1, seed=4)[0]  # an arithmetic task, a right and a wrong answer
RUBRIC = RubricJudgeConfig(kind="rubric", model=JUDGE, rubric="Right or wrong.", scale=(1, 5))
PAIRWISE = PairwiseJudgeConfig(kind="pairwise", model=JUDGE, effort="low")


def _task(answer: AnswerView, baseline: AnswerView | None = None, repeat: int = 0) -> JudgeTask:
    return JudgeTask("responses", PAIR.request, answer, baseline, repeat)


def _judged(
    tmp_path: Path,
    config: Any,
    tasks: list[JudgeTask],
    cap: SpendCap | None = None,
    **judge: float,
) -> list[Judged | None]:
    async def run() -> list[Judged | None]:
        with judging_emulator(**judge) as emulator:
            async with gateway_to(emulator, tmp_path) as gateway:
                judge_ = build_judge(config, GatewayAsk(gateway, cap=cap))
                return [await judge_.judge(task) for task in tasks]

    return asyncio.run(run())


def _one(found: Judged | None) -> Judged:
    assert found is not None
    return found


def test_rubric_scores_map_the_scale_to_0_1_and_costs_are_the_ledgers(tmp_path: Path) -> None:
    right, wrong = (
        _one(j)
        for j in _judged(tmp_path, RUBRIC, [_task(PAIR.right), _task(PAIR.wrong)], accuracy=1)
    )
    assert (right.grade.value, right.grade.answer) == (1.0, "5 on 1..5")
    assert (wrong.grade.value, wrong.grade.answer) == (0.0, "1 on 1..5")
    assert right.grade.explanation == "emulated judge: the answer is right"
    assert right.grade.grader == f"rubric:{JUDGE}"
    assert right.grade.error is None
    ledger = {record.id: record for record in records(ledger_at(tmp_path))}
    for judged in (right, wrong):
        (call,) = judged.calls
        record = ledger[call.record_id or ""]
        assert record.answering_model == JUDGE
        assert call.cost_usd == record.cost_usd == judged.cost_usd
        assert judged.cost_usd is not None
        assert judged.cost_usd > 0
    tally = JudgeTally()
    tally.add(right)
    tally.add(wrong)
    assert (tally.calls, tally.unknown_costs, tally.errors) == (2, 0, 0)
    assert tally.spent_usd == sum((r.cost_usd or Decimal(0) for r in ledger.values()), Decimal(0))


def test_a_judge_answer_that_does_not_parse_is_a_grader_error_with_its_cost(
    tmp_path: Path,
) -> None:
    tasks = [_task(PAIR.right), _task(PAIR.right, PAIR.wrong)]
    rubric = _one(_judged(tmp_path / "r", RUBRIC, tasks[:1], malformed=1)[0])
    pairwise = _one(_judged(tmp_path / "p", PAIRWISE, tasks[1:], malformed=1)[0])
    for judged in (rubric, pairwise):
        assert judged.grade.value is None
        assert "not JSON" in (judged.grade.error or "")
        assert judged.cost_usd is not None
        assert judged.cost_usd > 0
        assert len(judged.record_ids) == len(judged.calls)
    assert len(pairwise.calls) == 2
    assert pairwise.grade.flipped is None


def test_a_failed_judge_call_is_a_grader_error_naming_it(tmp_path: Path) -> None:
    unknown = RubricJudgeConfig(kind="rubric", model="gpt-9-imaginary", rubric="r")
    judged = _one(_judged(tmp_path, unknown, [_task(PAIR.right)])[0])
    assert judged.grade.value is None
    assert "the judge call failed" in (judged.grade.error or "")
    (call,) = judged.calls
    assert call.cost_usd == 0


def test_judge_calls_hold_the_runs_spend_cap_and_are_charged_to_it(tmp_path: Path) -> None:
    cap = SpendCap(Decimal("1.00"))
    tasks = [_task(PAIR.right, PAIR.wrong, repeat) for repeat in range(3)]
    judged = [_one(j) for j in _judged(tmp_path / "roomy", PAIRWISE, tasks, cap, accuracy=1)]
    spent = sum((j.cost_usd or Decimal(0) for j in judged), Decimal(0))
    assert spent > 0
    assert cap.charged_usd == spent
    assert (cap.reserved_usd, cap.in_flight) == (Decimal(0), 0)

    tiny = SpendCap(Decimal("0.000001"))
    (refused,) = _judged(tmp_path / "tiny", RUBRIC, tasks[:1], tiny)
    assert refused is not None
    assert refused.grade.value is None
    assert "spend cap reached" in (refused.grade.error or "")
    assert tiny.charged_usd == 0
    assert refused.record_ids == ()


def test_pairwise_without_a_baseline_answer_judges_nothing(tmp_path: Path) -> None:
    assert _judged(tmp_path, PAIRWISE, [_task(PAIR.right)]) == [None]


def test_each_repeat_is_judged_afresh(tmp_path: Path) -> None:
    tasks = [_task(PAIR.right, repeat=repeat) for repeat in range(24)] * 2
    values = [_one(j).grade.value for j in _judged(tmp_path, RUBRIC, tasks, accuracy=0.5)]
    assert set(values) == {0.0, 1.0}
    assert values[:24] == values[24:]  # the same repeat: the same verdict


def test_the_flip_rate_counts_two_order_verdicts_only() -> None:
    grades = [
        Grade("p", 0.5, "", "", flipped=True),
        Grade("p", 1.0, "", "", flipped=False),
        Grade("p", 0.5, "", "", flipped=False),
        Grade("one-order", 1.0, "", ""),
        Grade("p", None, "", "", "bad"),
    ]
    flips = position_flips(grades)
    assert list(flips) == ["p"]
    assert (flips["p"].pairs, flips["p"].flips, flips["p"].rate) == (3, 1, 1 / 3)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("I would say 7.", "not JSON"),
        ("[7]", "not a JSON object"),
        ('{"score": 11, "reason": "great"}', "outside the scale 0..10"),
        ('{"score": -1, "reason": "bad"}', "outside the scale 0..10"),
        ('{"score": 7.5, "reason": "ok"}', "not an integer"),
        ('{"score": true, "reason": "ok"}', "not an integer"),
        ('{"score": 7}', "reason is None"),
    ],
)
def test_a_rubric_answer_off_the_format_or_the_scale_is_refused(text: str, problem: str) -> None:
    with pytest.raises(JudgeReplyError, match=problem):
        read_score(text, (0, 10))


def test_rubric_and_pairwise_answers_are_read() -> None:
    assert read_score('{"score": 10, "reason": "right"}', (0, 10)) == (10, "right")
    assert read_winner('{"winner": "tie", "reason": "same"}') == ("tie", "same")
    with pytest.raises(JudgeReplyError, match="not one of A, B, tie"):
        read_winner('{"winner": "a", "reason": "lower case"}')


def test_judge_config_is_typed_and_checked_at_load() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(JudgeConfig)
    rubric = adapter.validate_python({"kind": "rubric", "model": "gpt-5.4", "rubric": "r"})
    assert (rubric.scale, rubric.grader_name) == ((0, 10), "rubric:gpt-5.4")
    pairwise = adapter.validate_python({"kind": "pairwise", "model": "m", "effort": "low"})
    assert (pairwise.both_orders, pairwise.grader_name) == (True, "pairwise:m@low")
    for bad in (
        {"kind": "rubric", "model": "m"},  # no rubric
        {"kind": "rubric", "model": "m", "rubric": "r", "scale": [5, 5]},
        {"kind": "pairwise", "model": "m", "rubric": "r"},  # a rubric is the rubric judge's
        {"kind": "vibes", "model": "m"},
        {"kind": "pairwise", "model": "m", "both_orders": "yes please"},
    ):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_the_judges_in_the_docs_load_as_written() -> None:
    text = (REPO / "docs" / "judges.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    assert block is not None
    tables = tomllib.loads(block[1])["judges"]
    loaded = TypeAdapter(list[JudgeConfig]).validate_python(tables)
    assert [judge.kind for judge in loaded] == ["rubric", "pairwise"]
    assert loaded[0].grader_name == "correct"
