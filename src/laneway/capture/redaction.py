"""Redaction: every configured pattern replaced in every string of a JSON value (object keys are
field names and are kept), before a capture is stored."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from laneway.capture.config import RedactRule


class Redactor:
    def __init__(self, rules: Sequence[RedactRule]) -> None:
        self._rules = tuple((rule.compiled(), rule.replace) for rule in rules)

    def text(self, value: str) -> str:
        for pattern, replace in self._rules:
            value = pattern.sub(replace, value)
        return value

    def value(self, value: Any) -> Any:
        """A copy of a JSON value (as orjson reads it) with every string redacted."""
        if not self._rules:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value


def check_pattern(pattern: str) -> re.Pattern[str]:
    """For callers that take a pattern outside config: compiled, or ValueError."""
    return RedactRule(pattern=pattern).compiled()
