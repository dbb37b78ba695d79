"""A user's own grader, `module:function`: imported once, refused up front if it cannot be; its
failures and out-of-range scores are that row's grader errors, never a pass or a silent 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneway.replay.graders import GraderError
from laneway.replay.python_grader import PythonGrader
from laneway.wire.answers import AnswerView

MODULE = """
def length_ok(request, answer, expected):
    short = len(answer.text) <= expected["max_chars"]
    return (1.0 if short else 0.0), f"{len(answer.text)} chars for {request['model']}"

def fails(request, answer, expected):
    raise ValueError("the judge is out")

def too_high(request, answer, expected):
    return 1.5, "generous"

def no_reason(request, answer, expected):
    return 1.0

def yes(request, answer, expected):
    return True, "a bool is not a score"
"""
REQUEST = {"model": "gpt-5.4-mini", "input": "Be brief."}


@pytest.fixture(autouse=True)
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_graders.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_the_users_grader_scores_and_explains() -> None:
    grader = PythonGrader("my_graders:length_ok")
    good = grader.grade(REQUEST, AnswerView("Hi."), {"max_chars": 5})
    assert (good.value, good.explanation, good.error) == (1.0, "3 chars for gpt-5.4-mini", None)
    long = grader.grade(REQUEST, AnswerView("Hello there."), {"max_chars": 5})
    assert long.value == 0.0
    assert long.grader == "my_graders:length_ok"


@pytest.mark.parametrize(
    ("function", "error"),
    [
        ("fails", "raised ValueError: the judge is out"),
        ("too_high", "the score 1.5, outside [0, 1]"),
        ("no_reason", "returned 1.0, not (score, reason)"),
        ("yes", "the score True, not a number"),
    ],
)
def test_a_failing_grader_is_an_error_on_the_row(function: str, error: str) -> None:
    result = PythonGrader(f"my_graders:{function}").grade(REQUEST, AnswerView("x"), None)
    assert result.value is None
    assert result.error is not None
    assert error in result.error


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        ("my_graders", "module:function"),
        ("no_such_module:f", "cannot import 'no_such_module' (ModuleNotFoundError"),
        ("my_graders:absent", "my_graders has no function 'absent'"),
        ("my_graders:MODULE_NAME_THAT_IS_NOT_THERE", "has no function"),
    ],
)
def test_a_grader_that_cannot_be_loaded_is_refused_up_front(reference: str, said: str) -> None:
    with pytest.raises(GraderError) as raised:
        PythonGrader(reference)
    assert said in str(raised.value)
