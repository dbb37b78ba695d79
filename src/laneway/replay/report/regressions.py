"""The worst regressions against the baseline: per candidate, the workload lines where its score
fell below the baseline's (laneway.replay.report.row_pass), the largest drops first (then in
workload order), each with its input and both answers side by side.

Which candidates: the recommendation's pick when there is one, else every candidate. Only the
shown lines' answers and inputs are read, in one more pass over the rows and one over the
workload, so a 40,000-row run keeps no answer it does not show.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

import orjson

from laneway.replay.diff_lines import answer_text
from laneway.replay.report.input_text import cut, input_text
from laneway.replay.report.model import CellRegressions, LineSide, Regression
from laneway.replay.report.row_pass import LineKey, LineScore
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import WORKLOAD, RunDir
from laneway.replay.workload import Workload

_Line = tuple[str, str | None]  # a line's input text, and its `expect` as JSON
SHOWN: Final = 10  # per candidate
INPUT_CHARS: Final = 2_000
ANSWER_CHARS: Final = 4_000


def worst_regressions(
    run: RunDir,
    lines: Mapping[LineKey, LineScore],
    baseline: str,
    candidates: list[str],
    shown: int = SHOWN,
) -> tuple[CellRegressions, ...]:
    workload = Workload.load(run.file(WORKLOAD))
    order = workload.positions
    ranked: dict[str, tuple[int, list[tuple[float, str]]]] = {}
    for label in candidates:
        compared, found = 0, []
        for (cell, custom_id), score in lines.items():
            base = lines.get((baseline, custom_id)) if cell == label else None
            if base is None:
                continue
            compared += 1
            if base.mean > score.mean:
                found.append((base.mean - score.mean, custom_id))
        found.sort(key=lambda item: (-item[0], order.get(item[1], len(order))))
        ranked[label] = (compared, found)
    wanted = {
        (cell, cid)
        for label, (_, found) in ranked.items()
        for _, cid in found[:shown]
        for cell in (label, baseline)
    }
    answers = _first_rows(run, wanted)
    inputs = _inputs(workload, {cid for _, cid in wanted})
    result = []
    for label, (compared, found) in ranked.items():
        listed = tuple(
            _regression(
                custom_id,
                drop,
                inputs.get(custom_id, ("", None)),
                _side(lines[(baseline, custom_id)], answers.get((baseline, custom_id))),
                _side(lines[(label, custom_id)], answers.get((label, custom_id))),
            )
            for drop, custom_id in found[:shown]
        )
        result.append(CellRegressions(label, compared, len(found), listed))
    return tuple(result)


def _regression(
    custom_id: str, drop: float, line: _Line, baseline: LineSide, candidate: LineSide
) -> Regression:
    shown, more = cut(line[0], INPUT_CHARS)
    return Regression(custom_id, drop, shown, more, line[1], baseline, candidate)


def _side(score: LineScore, row: ResultRow | None) -> LineSide:
    if row is None or row.status != "ok" or row.output is None:
        failure = None if row is None else (row.error_kind or row.status)
        return LineSide(score.mean, score.counted, None, failure)
    text, more = cut(answer_text(row.output), ANSWER_CHARS)
    return LineSide(score.mean, score.counted, text, None, more)


def _first_rows(run: RunDir, wanted: Collection[LineKey]) -> dict[LineKey, ResultRow]:
    """Each wanted (cell, line)'s row of its lowest repeat."""
    found: dict[LineKey, ResultRow] = {}
    if not wanted:
        return found
    for row in run.rows():
        key = (row.cell, row.custom_id)
        if key in wanted and (key not in found or row.repeat < found[key].repeat):
            found[key] = row
    return found


def _inputs(workload: Workload, wanted: Collection[str]) -> dict[str, _Line]:
    """The wanted lines' inputs and expectations, in one pass over the workload."""
    if not wanted:
        return {}
    return {
        line.custom_id: (input_text(line), _expected(line.expect))
        for line in workload.lines()
        if line.custom_id in wanted
    }


def _expected(expect: object) -> str | None:
    if expect is None:
        return None
    return orjson.dumps(expect).decode()
