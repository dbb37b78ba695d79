"""Where the command line writes: rich consoles for people, plain JSON for programs."""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console

_PIPED_WIDTH = 160  # rich assumes 80 columns off a terminal, which would cut table cells


def stdout_console() -> Console:
    # Built per command, not at import, so the stream in use then (a test's capture) is the one
    # written to.
    width = None if sys.stdout.isatty() else _PIPED_WIDTH
    return Console(highlight=False, width=width)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def warn(message: str) -> None:
    stderr_console().print(f"warning: {message}", markup=False)
