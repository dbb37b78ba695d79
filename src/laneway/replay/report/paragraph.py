"""The recommendation and its confidence as one paragraph: the decision (the sentence
`laneway replay recommend` prints first), the level its verdicts hold at, and what would settle
an open question. Every output of the report shows this text exactly (the browser test checks
the page's against report.json's)."""

from __future__ import annotations

import re

from laneway.replay.recommend import Recommendation
from laneway.replay.recommend_text import sentence, settle_text

_WORD = re.compile(r"[a-z]+[ ,:]")


def paragraph(found: Recommendation) -> str:
    candidates = len(found.options)
    parts = [
        _capital(sentence(found)),
        f"Confidence: each verdict is one-sided {found.confidence:.0%} for the family of "
        f"{candidates} candidate(s) together (Holm-adjusted), against a margin of "
        f"{found.margin * 100:g} points of quality",
    ]
    settle = settle_text(found)
    if settle:
        parts.append(_capital(settle))
    if found.plan:
        parts.append(_capital(found.plan))
    return ". ".join(parts) + "."


def _capital(text: str) -> str:
    """A sentence's first word capitalised when it is a plain word (never a model's name)."""
    return text[:1].upper() + text[1:] if _WORD.match(text) else text
