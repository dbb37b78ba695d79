"""A replay workload: the lines of an OpenAI Batch input file (laneway.wire.batch_lines), read
whole and checked before any call is made.

Every bad line is reported at once (WorkloadError lists each with its number and custom_id), so
a user fixes a file in one pass instead of one error per run. Blank lines are skipped, as the
Batch API skips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from laneway.errors import WorkloadError
from laneway.wire.batch_lines import BatchLine, LineProblem, read_line


@dataclass(frozen=True, slots=True)
class Workload:
    source: str  # where it was read from, for messages and the run directory
    lines: tuple[BatchLine, ...]

    @classmethod
    def load(cls, path: Path) -> Workload:
        """The workload in `path`; WorkloadError naming every bad line, or an unreadable file."""
        try:
            with path.open("rb") as file:
                return cls.read(str(path), file)
        except OSError as exc:
            raise WorkloadError(str(path), [f"cannot read it ({exc.strerror})"]) from None

    @classmethod
    def read(cls, source: str, raw_lines: Iterable[bytes]) -> Workload:
        lines: list[BatchLine] = []
        problems: list[LineProblem] = []
        first_seen: dict[str, int] = {}
        for entry in _entries(raw_lines):
            if isinstance(entry, LineProblem):
                problems.append(entry)
                continue
            earlier = first_seen.setdefault(entry.custom_id, entry.number)
            if earlier != entry.number:
                problems.append(
                    LineProblem(
                        entry.number,
                        entry.custom_id,
                        f"custom_id already used on line {earlier} (each must be unique)",
                    )
                )
                continue
            lines.append(entry)
        if not problems and not lines:
            raise WorkloadError(source, ["no lines: a workload needs at least one call"])
        if problems:
            raise WorkloadError(source, problems)
        return cls(source, tuple(lines))

    @property
    def expectations(self) -> int:
        """How many lines carry an expectation (0: graded by agreement with the baseline)."""
        return sum(line.expect is not None for line in self.lines)


def _entries(raw_lines: Iterable[bytes]) -> Iterator[BatchLine | LineProblem]:
    for number, raw in enumerate(raw_lines, start=1):
        if raw.strip():
            yield read_line(number, raw)
