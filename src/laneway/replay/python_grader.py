"""A grader of the user's own: `module:function`, imported once, called per answer with the
request body, the answer (laneway.wire.answers.AnswerView) and the line's expectation, returning
`(score, reason)` with the score in [0, 1].

A reference that does not import is refused before any call is made (GraderError). A function
that raises, or returns anything but a score in range and a reason, gives that row a grader
error naming what went wrong: never a pass, never a silent 0.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

from laneway.replay.graders import Grade, GraderError
from laneway.wire.answers import AnswerView

UserGrader = Callable[[dict[str, Any], AnswerView, Any], Any]


class PythonGrader:
    def __init__(self, reference: str) -> None:
        self.name = reference
        self._function = _load(reference)

    def grade(self, request: dict[str, Any], answer: AnswerView, expected: Any) -> Grade:
        try:
            returned = self._function(request, answer, expected)
        except Exception as exc:  # noqa: BLE001 - the user's code: any failure is this row's
            return self._error(answer, f"raised {type(exc).__name__}: {exc}")
        if not (isinstance(returned, tuple) and len(returned) == 2):
            return self._error(answer, f"returned {returned!r}, not (score, reason)")
        score, reason = returned
        if isinstance(score, bool) or not isinstance(score, int | float):
            return self._error(answer, f"returned the score {score!r}, not a number")
        if not (math.isfinite(score) and 0 <= score <= 1):
            return self._error(answer, f"returned the score {score!r}, outside [0, 1]")
        return Grade(self.name, float(score), answer.text, str(reason))

    def _error(self, answer: AnswerView, message: str) -> Grade:
        return Grade(self.name, None, answer.text, "could not grade", f"{self.name} {message}")


def _load(reference: str) -> UserGrader:
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise GraderError(f"python grader {reference!r}: write it as module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure to import is the user's to see
        raise GraderError(
            f"python grader {reference!r}: cannot import {module_name!r} "
            f"({type(exc).__name__}: {exc})"
        ) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise GraderError(
            f"python grader {reference!r}: {module_name} has no function {attribute!r}"
        )
    return function  # type: ignore[no-any-return]
