"""Agreement with the baseline's answer: the quality figure when a workload carries no
expectations, and only ever reported as agreement, never as correctness.

The similarity is SQuAD's token F1, a documented and widely used one: both texts lower-cased,
punctuation and the articles a/an/the dropped, split on whitespace; F1 of the two bags of words
(1.0 when both are empty). Tool calls, when either answer made any, count as one more part: the
share of the baseline's calls (name and parsed arguments) the candidate made too, and the grade
is the mean of the parts.
"""

from __future__ import annotations

import re
import string
from collections import Counter

import orjson

from laneway.replay.graders import Grade
from laneway.wire.answers import AnswerView, ToolCall

NAME = "agreement"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def agreement(candidate: AnswerView, baseline: AnswerView) -> Grade:
    parts = [token_f1(candidate.text, baseline.text)]
    why = f"token F1 {parts[0]:.2f} with the baseline's answer"
    if candidate.tool_calls or baseline.tool_calls:
        calls = _calls_agree(candidate.tool_calls, baseline.tool_calls)
        parts.append(calls)
        why += f"; tool calls {calls:.2f}"
    return Grade(NAME, sum(parts) / len(parts), candidate.text, why)


def token_f1(text: str, reference: str) -> float:
    ours, theirs = _words(text), _words(reference)
    if not ours and not theirs:
        return 1.0
    common = sum((Counter(ours) & Counter(theirs)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def _words(text: str) -> list[str]:
    plain = _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION))
    return plain.split()


def _calls_agree(calls: tuple[ToolCall, ...], reference: tuple[ToolCall, ...]) -> float:
    if not reference:
        return 0.0  # calls the baseline did not make
    made = [_key(call) for call in calls]
    matched = 0
    for call in reference:
        key = _key(call)
        if key in made:
            made.remove(key)
            matched += 1
    return matched / len(reference)


def _key(call: ToolCall) -> tuple[str, bytes]:
    try:  # arguments compared as JSON values (key order and spacing aside) when they parse
        value = orjson.dumps(orjson.loads(call.arguments), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        value = call.arguments.encode()
    return call.name, value
