"""Without expectations, quality is agreement with the baseline's answer (SQuAD token F1, plus
tool calls when there are any), labelled as agreement."""

from __future__ import annotations

import pytest

from laneway.replay.agreement import NAME, agreement, token_f1
from laneway.wire.answers import AnswerView, ToolCall


@pytest.mark.parametrize(
    ("text", "reference", "f1"),
    [
        ("The capital is Paris.", "the capital is paris", 1.0),  # case, punctuation, articles
        ("", "", 1.0),
        ("Paris", "", 0.0),
        ("Lyon", "Paris", 0.0),
        ("Paris France", "Paris", 2 / 3),  # precision 1/2, recall 1
        ("paris paris", "paris", 2 / 3),  # a word counts as often as it appears
    ],
)
def test_token_f1(text: str, reference: str, f1: float) -> None:
    assert token_f1(text, reference) == pytest.approx(f1)


def test_agreement_is_labelled_and_counts_tool_calls() -> None:
    same = agreement(AnswerView("It is 4."), AnswerView("it is 4"))
    assert (same.grader, same.value) == (NAME, 1.0)
    assert "baseline" in same.explanation
    weather = ToolCall("weather", '{"city": "Oslo", "unit": "C"}')
    reordered = ToolCall("weather", '{"unit":"C","city":"Oslo"}')  # the same JSON value
    both = agreement(AnswerView("", (reordered,)), AnswerView("", (weather,)))
    assert both.value == 1.0
    other = agreement(AnswerView("", (ToolCall("weather", '{"city": "Bergen"}'),)),
                      AnswerView("", (weather,)))  # fmt: skip
    assert other.value == 0.5  # the text parts agree (both empty); the call does not
    extra = agreement(AnswerView("", (weather,)), AnswerView(""))
    assert extra.value == 0.5  # a call the baseline did not make
