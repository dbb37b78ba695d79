"""laneway's exception tree.

Every error laneway raises on purpose derives from `LanewayError`. Each class documents the
HTTP status it maps to once the server layer exists, so that one kind of failure always reaches a
client the same way.

    LanewayError
    ├── CatalogError          a model catalog file is malformed (a start-up error; no status)
    ├── UnknownModelError     a model id or alias the catalog does not hold (404 model_not_found)
    └── UsageError            token counts that cannot describe a real request (400)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class LanewayError(Exception):
    """Base class of every error laneway raises deliberately."""

    # The HTTP status an API client gets for it (None: not an answer to an API call, e.g. a
    # start-up or command-line error), and OpenAI's `code` field to send with it.
    status: int | None = None
    code: str | None = None


@dataclass(frozen=True)
class CatalogProblem:
    """One defect in a catalog file: where it is and what is wrong."""

    file: Path
    entry: str | None  # the model id, or None for a file-level problem
    field: str | None  # dotted path inside the entry, e.g. "prices.input"
    message: str

    def __str__(self) -> str:
        where = str(self.file)
        if self.entry is not None:
            where += f": model {self.entry!r}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class CatalogError(LanewayError):
    """A catalog file could not be loaded; lists every problem found, each fully located."""

    def __init__(self, problems: Sequence[CatalogProblem]) -> None:
        self.problems = tuple(problems)
        lines = [str(p) for p in self.problems]
        head = "invalid model catalog: " + lines[0]
        if len(lines) > 1:
            head += f" (and {len(lines) - 1} more: " + "; ".join(lines[1:]) + ")"
        super().__init__(head)


class UnknownModelError(LanewayError, LookupError):
    """The catalog holds no model with this id or alias."""

    def __init__(self, model: str, suggestions: Sequence[str] = ()) -> None:
        self.model = model
        self.suggestions = tuple(suggestions)
        message = f"unknown model {model!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message)


class ConfigError(LanewayError):
    """A gateway config file is malformed; the message names the file and the field."""


class UsageError(LanewayError, ValueError):
    """Token counts that no real request could produce (negative, cached above input, ...)."""
