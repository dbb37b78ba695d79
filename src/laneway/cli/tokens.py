"""`laneway tokens`: exact o200k_base counts of files or standard input."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from laneway.cli.errors import CliError
from laneway.tokens import count_tokens


def _read_text(source: str) -> str:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"{source} is not UTF-8 text (bad byte at offset {exc.start})") from exc


@click.command("tokens")
@click.argument("sources", nargs=-1, required=True, metavar="FILE|-...")
def tokens_command(sources: tuple[str, ...]) -> None:
    """Print the exact o200k_base token count (one file: the number; several: one line each)."""
    counts = [(source, count_tokens(_read_text(source))) for source in sources]
    if len(counts) == 1:
        print(counts[0][1])  # noqa: T201 - the count is the command's output
        return
    width = len(f"{sum(n for _, n in counts):,}")
    for source, n in counts:
        print(f"{n:>{width},} {source}")  # noqa: T201
    print(f"{sum(n for _, n in counts):>{width},} total")  # noqa: T201
