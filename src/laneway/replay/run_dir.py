"""A run directory: everything one replay run made, enough to resume it and to report on it
later without anything else.

    RUN/
      run.json         the manifest: cells, notes, settings, what it ran against (RunManifest)
      experiment.toml  the experiment as resolved (re-runnable)
      catalog.toml     the catalog it priced with
      workload.jsonl   the workload lines it ran, as read
      started.jsonl    one line per call as it is sent: a start with no row was in flight
      results.jsonl    one row per completed call (laneway.replay.rows), append-only
      results.json     the per-cell summary, written when the run ends
      summary.md       the same for people

A kill can leave the last line of results.jsonl torn (no newline): it is not a row, and the call
it began is made again on resume.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from laneway.errors import LanewayError
from laneway.replay.experiment import Cell
from laneway.replay.rows import ResultRow

MANIFEST = "run.json"
EXPERIMENT = "experiment.toml"
CATALOG = "catalog.toml"
WORKLOAD = "workload.jsonl"
STARTED = "started.jsonl"
RESULTS = "results.jsonl"
SUMMARY_JSON = "results.json"
SUMMARY_MD = "summary.md"


def new_run_id(now: float) -> str:
    """A run's id, short enough to type (`laneway usage --run`, reports): its start in UTC and
    a random suffix, e.g. run_20261206-080047-3f9a1c."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"run_{stamp}-{secrets.token_hex(3)}"


class RunDirError(LanewayError):
    """A run directory cannot be used: not one, from another laneway, or damaged."""


@dataclass(frozen=True, slots=True)
class RunManifest:
    run_id: str
    created_at: float  # unix seconds
    cells: tuple[Cell, ...]  # the baseline first
    notes: tuple[str, ...]  # what was skipped or kept without the catalog's word
    repeats: int
    concurrency: int
    spend_cap_usd: Decimal | None
    key: str  # the key the run's ledger records are charged to
    upstream: str  # what answered: "emulator" or the provider names
    tier: str | None  # the usage tier whose limits the throughput ceilings use
    workloads: tuple[str, ...]  # where the lines came from, as given
    lines: int  # workload lines
    graders: tuple[str, ...] = ()  # Python graders (module:function) beside the expectations
    judges: tuple[str, ...] = ()  # model graders, by the name of their grades
    extra: dict[str, Any] = field(default_factory=dict)  # settings added later; read as given

    @property
    def baseline(self) -> Cell:
        return self.cells[0]

    @property
    def calls(self) -> int:
        """Calls a complete run makes."""
        return len(self.cells) * self.lines * self.repeats

    def to_json(self) -> bytes:
        value = asdict(self)
        value["spend_cap_usd"] = None if self.spend_cap_usd is None else str(self.spend_cap_usd)
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, raw: bytes) -> RunManifest:
        value = orjson.loads(raw)
        cap = value.pop("spend_cap_usd")
        return cls(
            **{
                **value,
                "cells": tuple(Cell(**cell) for cell in value["cells"]),
                "notes": tuple(value["notes"]),
                "workloads": tuple(value["workloads"]),
                "graders": tuple(value.get("graders", ())),
                "judges": tuple(value.get("judges", ())),
            },
            spend_cap_usd=None if cap is None else Decimal(cap),
        )


@dataclass(frozen=True, slots=True)
class RunDir:
    path: Path

    def file(self, name: str) -> Path:
        return self.path / name

    def manifest(self) -> RunManifest:
        try:
            return RunManifest.from_json(self.file(MANIFEST).read_bytes())
        except FileNotFoundError:
            raise RunDirError(f"{self.path}: not a run directory (no {MANIFEST})") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise RunDirError(f"{self.path}/{MANIFEST}: damaged ({exc})") from None

    def rows(self) -> Iterator[ResultRow]:
        """The completed calls, in the order they completed; a torn last line is skipped."""
        for raw in _whole_lines(self.file(RESULTS)):
            try:
                yield ResultRow.from_json(raw)
            except (ValueError, TypeError) as exc:
                raise RunDirError(f"{self.path}/{RESULTS}: a damaged row ({exc})") from None

    def started(self) -> Iterator[tuple[str, str, int]]:
        """The calls that were sent (cell, custom_id, repeat), whether or not they completed."""
        for raw in _whole_lines(self.file(STARTED)):
            cell, custom_id, repeat = orjson.loads(raw)
            yield (cell, custom_id, repeat)


def _whole_lines(path: Path) -> Iterator[bytes]:
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return
    with file:
        for raw in file:
            if raw.endswith(b"\n"):
                yield raw
