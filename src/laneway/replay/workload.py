"""A replay workload: the lines of one or more OpenAI Batch input files (laneway.wire.batch_lines),
checked before any call is made, and read again from disk, one line at a time, whenever they are
needed: no body is kept, so memory does not grow with the workload's prompts.

    workload = Workload.load_all([Path("a.jsonl"), Path("b.jsonl")])   # WorkloadError if bad
    for line in workload.lines(): ...                  # parsed one at a time, in run order
    workload.copy_to(run_dir / "workload.jsonl")       # its lines as read, streamed

Every bad line is reported at once (WorkloadError lists each with its number and custom_id), so
a user fixes a file in one pass instead of one error per run. Blank lines are skipped, as the
Batch API skips them. What is kept per line is its custom_id's place in the run (ids are short),
and the SHA-256 of the lines as workload.jsonl holds them, which tells a file that changed since
it was checked.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from laneway.errors import WorkloadError
from laneway.wire.batch_lines import BatchLine, LineProblem, read_line


@dataclass(frozen=True, slots=True, eq=False)
class Workload:
    source: str  # where it was read from, for messages
    paths: tuple[Path, ...]  # its files, read in this order
    count: int  # lines (calls per cell and repeat)
    expectations: int  # lines that carry one (0: graded by agreement with the baseline)
    sha256: str  # of its lines as read, each ending in a newline (workload.jsonl's bytes)
    positions: Mapping[str, int] = field(repr=False)  # custom_id -> its line's place, from 0

    @classmethod
    def load(cls, path: Path) -> Workload:
        """The workload in `path`; WorkloadError naming every bad line, or an unreadable file."""
        return cls.load_all([path])

    @classmethod
    def load_all(cls, paths: Sequence[Path]) -> Workload:
        """Several files as one workload, each read once: WorkloadError naming every bad line
        of the first bad file, else every custom_id used in two files."""
        scan = _Scan()
        for path in paths:
            problems = scan.file(path)
            if problems:
                raise WorkloadError(str(path), problems)
        source = ", ".join(map(str, paths))
        if scan.across:
            raise WorkloadError(source, scan.across)
        return cls(
            source,
            tuple(paths),
            len(scan.positions),
            scan.expectations,
            scan.digest.hexdigest(),
            scan.positions,
        )

    def lines(self) -> Iterator[BatchLine]:
        """Its lines, read again from disk and parsed one at a time (numbered per file);
        WorkloadError when a file changed since it was checked."""
        digest = hashlib.sha256()
        for path in self.paths:
            with _opened(path) as file:
                for number, raw in _numbered(file):
                    digest.update(raw)
                    line = read_line(number, raw)
                    if isinstance(line, LineProblem):
                        raise self._changed(path)
                    yield line
        if digest.hexdigest() != self.sha256:
            raise self._changed(self.paths[-1])

    def copy_to(self, target: Path) -> None:
        """Write its lines as read (blank lines dropped, each ending in a newline) to `target`,
        streamed; WorkloadError when they are not the lines checked."""
        digest = hashlib.sha256()
        with target.open("wb") as out:
            for path in self.paths:
                with _opened(path) as file:
                    for _, raw in _numbered(file):
                        digest.update(raw)
                        out.write(raw)
        if digest.hexdigest() != self.sha256:
            target.unlink()
            raise self._changed(self.source)

    def _changed(self, where: object) -> WorkloadError:
        return WorkloadError(str(where), ["changed since it was checked"])


@dataclass(slots=True)
class _Scan:
    """What checking the files finds, file after file."""

    positions: dict[str, int] = field(default_factory=dict)
    starts: list[int] = field(default_factory=list)  # each file's first place
    names: list[str] = field(default_factory=list)
    across: list[str] = field(default_factory=list)  # custom_ids used in two files
    expectations: int = 0
    digest: Any = field(default_factory=hashlib.sha256)

    def file(self, path: Path) -> list[object]:
        """Check one file, adding its lines; its problems (none: all its lines are added)."""
        self.starts.append(len(self.positions))
        self.names.append(str(path))
        try:
            with path.open("rb") as file:
                return self._lines(str(path), _numbered(file))
        except OSError as exc:
            return [f"cannot read it ({exc.strerror})"]

    def _lines(self, name: str, numbered: Iterable[tuple[int, bytes]]) -> list[object]:
        problems: list[object] = []
        first_seen: dict[str, int] = {}  # this file's custom_ids -> their line numbers
        for number, raw in numbered:
            self.digest.update(raw)
            line = read_line(number, raw)
            if isinstance(line, LineProblem):
                problems.append(line)
                continue
            earlier = first_seen.setdefault(line.custom_id, number)
            if earlier != number:
                message = f"custom_id already used on line {earlier} (each must be unique)"
                problems.append(LineProblem(number, line.custom_id, message))
            elif not problems:  # a bad file is refused: nothing more of it is needed
                self._add(name, line)
        if not problems and not first_seen:
            problems.append("no lines: a workload needs at least one call")
        return problems

    def _add(self, name: str, line: BatchLine) -> None:
        place = self.positions.setdefault(line.custom_id, len(self.positions))
        if place < self.starts[-1]:  # first used in an earlier file
            earlier = self.names[bisect_right(self.starts, place) - 1]
            self.across.append(
                f"{name} line {line.number}: custom_id {line.custom_id!r} is used in {earlier} too"
            )
            return
        self.expectations += line.expect is not None


def _numbered(file: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """A file's lines that are not blank, numbered as an editor shows them, each ending in a
    newline (the last one may lack it)."""
    for number, raw in enumerate(file, start=1):
        if raw.strip():
            yield number, raw if raw.endswith(b"\n") else raw + b"\n"


def _opened(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise WorkloadError(str(path), [f"cannot read it ({exc.strerror})"]) from None
