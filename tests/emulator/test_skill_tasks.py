"""The skill model's task families: each reads the tasks it writes, answers them right, and
answers them wrong in a way laneway's graders fail; a prompt that is no task is left alone."""

from __future__ import annotations

import random

import pytest

from laneway.emulator.skill_tasks import FAMILIES, recognise
from laneway.emulator.skill_tasks.arithmetic import evaluate
from laneway.emulator.skill_tasks.base import Answer
from laneway.replay.demo import expectation
from laneway.replay.graders import grade
from laneway.wire.answers import AnswerView, ToolCall


def _view(answer: Answer) -> AnswerView:
    if answer.call_name is not None:
        return AnswerView("", (ToolCall(answer.call_name, answer.call_arguments or ""),))
    return AnswerView(answer.text or "")


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_a_family_reads_its_own_tasks_and_graders_tell_right_from_wrong(name: str) -> None:
    family, draw = FAMILIES[name], random.Random(name)
    for _ in range(200):
        sample = family.sample(draw)
        found = recognise(sample.text)
        assert found is not None, sample.text
        assert found[0] is family
        right, wrong = family.solve(found[1]), family.wrong(found[1], draw)
        expect = expectation(name, right)
        assert [g.value for g in grade(_view(right), expect)] == [1.0]
        assert [g.value for g in grade(_view(wrong), expect)] == [0.0], (sample.text, wrong)


def test_arithmetic_keeps_precedence_and_its_slips_are_plausible() -> None:
    assert evaluate("37 * 12 + 5") == 449
    assert evaluate("5 + 12 * 3 - 2 * 4") == 33
    assert evaluate("2+2") == 4
    family = FAMILIES["arithmetic"]
    task = family.recognise("What is 37 * 12 + 5? Answer with the number only.")
    assert task is not None
    assert family.solve(task).text == "449"
    task = family.recognise("What is 2 + 3 * 4?")
    assert task is not None
    slips = {family.wrong(task, random.Random(n)).text for n in range(100)}
    # Left to right (20), or 14 off by a little: never filler, never right.
    assert slips <= {"20", "4", "12", "13", "15", "16", "24"}
    assert "20" in slips
    assert "14" not in slips


def test_extraction_answers_the_asked_person_with_the_asked_keys() -> None:
    text = (
        "Extract the pilot's age and name from the text below. Answer with a JSON object with "
        'the keys "age", "name".\n\nText: Ada Moreau is a 36-year-old engineer from Lisbon. '
        "Tom Baker is a 41-year-old pilot from Leeds."
    )
    found = recognise(text)
    assert found is not None
    family, task = found
    assert family.solve(task).text == '{"age":41,"name":"Tom Baker"}'
    assert family.wrong(task, random.Random(0)).text == '{"age":36,"name":"Ada Moreau"}'


def test_classification_reads_cues_and_answers_from_the_listed_set() -> None:
    text = (
        "Classify the topic of this headline. Choose one label from: sports, finance. "
        "Answer with the label only.\n\nHeadline: The central bank held interest rates steady"
    )
    found = recognise(text)
    assert found is not None
    family, task = found
    assert family.solve(task).text == "finance"
    assert family.wrong(task, random.Random(0)).text == "sports"  # the only other label


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hi",
        "What is the best lane for a long report?",  # opens like arithmetic, is not a sum
        "What is 2 + 2",  # no question mark
        "Extract the person",
        "Extract the chef's name from the text below. Answer with a JSON object with the keys "
        '"name".\n\nText: Ada Moreau is a 36-year-old engineer from Lisbon.',  # no chef in it
        "Classify the mood of this poem. Choose one label from: a, b. Answer with the label "
        "only.\n\nPoem: roses",  # a kind of text it has no cues for
        "Classify the sentiment of this review. Choose one label from: positive, negative. "
        "Answer with the label only.\n\nReview: Lovely.",  # no cue it knows
        "Call get_weather for Paris",
        "Use the get_weather tool to get the weather in Paris.",  # no unit
        "Answer from the passage below with a short span copied from it.\n\nPassage: The Old "
        "Library was built in 1900.\n\nQuestion: Who designed the Old Library?",  # not in it
    ],
)
def test_a_prompt_that_is_no_task_is_not_recognised(text: str) -> None:
    assert recognise(text) is None
