"""The `[capture]` section: which requests are sampled into workload lines, how many, what is
redacted first and how long they are kept. Off (no lanes) by default.

    [capture]
    lanes = ["support"]          # lane names, or "*" for every request (plain model ids too)
    share = 0.05                 # the fraction of those requests sampled
    per_day = 2000               # at most this many captured per UTC day, over all replicas
    retention_days = 30
    redact = [{ pattern = '[\\w.+-]+@[\\w-]+\\.[\\w.]+', replace = "[email]" }]
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from laneway.config_file import Strict

EVERY = "*"  # `lanes = ["*"]`: every request, in a lane or not


class RedactRule(Strict):
    """Every match of `pattern` (a Python regular expression) in a stored string is replaced by
    `replace` (which may use \\1 and \\g<name> groups)."""

    pattern: str
    replace: str = "[redacted]"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(
                f"redact pattern {value!r} is not a regular expression: {exc}"
            ) from None
        if compiled.fullmatch("") is not None:
            raise ValueError(f"redact pattern {value!r} matches the empty string")
        return value

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


class CaptureConfig(Strict):
    lanes: tuple[str, ...] = ()  # empty: capture is off
    share: Annotated[float, Field(ge=0, le=1)] = 0.1
    per_day: Annotated[int, Field(ge=0, le=10_000_000)] = 1000
    redact: tuple[RedactRule, ...] = ()
    retention_days: Annotated[float, Field(gt=0, le=36_500)] = 30.0

    @field_validator("lanes")
    @classmethod
    def _lane_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if EVERY in value and len(value) > 1:
            raise ValueError(f'capture.lanes: "{EVERY}" already means every lane; list it alone')
        return value

    @property
    def on(self) -> bool:
        return bool(self.lanes) and self.share > 0 and self.per_day > 0

    @property
    def every_lane(self) -> bool:
        return EVERY in self.lanes
