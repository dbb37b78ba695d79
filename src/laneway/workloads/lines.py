"""A workload file read for the tools: each line's bytes as written (outputs copy them
unchanged) beside what it asks for. A bad line stops the tool with one line naming it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from laneway.errors import LanewayError
from laneway.wire.batch_lines import BatchLine, LineProblem, read_line


class WorkloadFileError(LanewayError):
    """A workload file the tools cannot use: unreadable, empty, or a bad line (the first)."""


@dataclass(frozen=True, slots=True)
class Line:
    raw: bytes  # as in the file, newline included
    line: BatchLine


def read_lines(path: Path) -> list[Line]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WorkloadFileError(f"{path}: cannot read it ({exc.strerror})") from None
    found: list[Line] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        if not raw.strip():
            continue
        entry = read_line(number, raw)
        if isinstance(entry, LineProblem):
            raise WorkloadFileError(f"{path}: {entry}")
        if entry.custom_id in seen:
            raise WorkloadFileError(
                f"{path}: line {number}: custom_id {entry.custom_id!r} repeated"
            )
        seen.add(entry.custom_id)
        found.append(Line(raw if raw.endswith(b"\n") else raw + b"\n", entry))
    if not found:
        raise WorkloadFileError(f"{path}: no lines")
    return found


def write_lines(path: Path, lines: list[Line]) -> None:
    try:
        path.write_bytes(b"".join(line.raw for line in lines))
    except OSError as exc:
        raise WorkloadFileError(f"{path}: cannot write it ({exc.strerror})") from None
