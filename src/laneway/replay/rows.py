"""One row of a run's results file: one call of one cell, as it ended.

`results.jsonl` in a run directory is append-only, one JSON object per line. A call is complete
once its row is on disk; a resumed run skips every (cell, custom_id, repeat) that has a row.
Money is exact decimal text (null when unknown), never a float.

    {"cell": "gpt-5.4-mini@low", "custom_id": "q-17", "repeat": 0, "status": "ok", ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson

from laneway.replay.graders import Grade
from laneway.wire.answers import AnswerView, ToolCall

RowStatus = Literal["ok", "error", "refused", "broken"]
# ok: answered in full; error: the call failed (an upstream error after laneway's retries, a
# timeout); refused: laneway or the provider refused it (a rate limit, a budget, the spend cap);
# broken: a stream that failed after its first bytes. As the ledger record's status says.


@dataclass(frozen=True, slots=True)
class RowUsage:
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int


@dataclass(frozen=True, slots=True)
class ResultRow:
    cell: str  # the cell's label, e.g. "gpt-5.4-mini@low" (laneway.replay.experiment.Cell)
    custom_id: str
    repeat: int  # 0-based repeat index, sent to the emulator so each repeat is a fresh draw
    status: RowStatus
    started_at: float  # unix seconds
    record_id: str | None = None  # the ledger record (None when refused before one existed)
    model: str | None = None  # the model that answered
    http_status: int | None = None
    attempts: int = 0  # upstream attempts (retries included)
    usage: RowUsage | None = None
    cost_usd: Decimal | None = None  # exact; None: unknown (no usage, or an unknown price)
    cost_basis: str | None = None  # the ledger's reason the cost is not exact, if any
    ttfb_ms: float | None = None  # time to the first byte (a stream's first event)
    latency_ms: float | None = None
    output: AnswerView | None = None  # what the model answered (None: no answer)
    grades: tuple[Grade, ...] = ()
    error_kind: str | None = None  # "rate_limit", "server_error", "timeout", "budget", ...
    error: str | None = None  # its message (never a secret: the gateway's errors are scrubbed)
    # Served from the call cache (`--reuse`): an earlier run's answer to the identical call,
    # graded again; nothing was sent and nothing spent (its cost is what the call cost then).
    reused: bool = False
    # What judging this answer cost (the model graders' calls), apart from the call's own cost:
    # None when it was not judged or a judge call's cost is unknown (then `judge_records` is
    # not empty); and those calls' ledger records.
    judge_cost_usd: Decimal | None = None
    judge_records: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, int]:
        """What makes a call unique within a run."""
        return (self.cell, self.custom_id, self.repeat)

    def to_json(self) -> bytes:
        """One line of results.jsonl, newline included."""
        return orjson.dumps(_plain(self), option=orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def from_json(cls, raw: bytes) -> ResultRow:
        """A row as written by `to_json`; ValueError (or orjson's) when it is not one."""
        value = orjson.loads(raw)
        if not isinstance(value, dict):
            raise ValueError("a results row is a JSON object")
        usage = value.pop("usage", None)
        cost = value.pop("cost_usd", None)
        output = value.pop("output", None)
        grades = value.pop("grades", ())
        judged = value.pop("judge_cost_usd", None)
        records = value.pop("judge_records", ())
        return cls(
            **value,
            usage=RowUsage(**usage) if usage is not None else None,
            cost_usd=Decimal(cost) if cost is not None else None,
            output=_answer(output) if output is not None else None,
            grades=tuple(Grade(**grade) for grade in grades),
            judge_cost_usd=Decimal(judged) if judged is not None else None,
            judge_records=tuple(records),
        )


def _plain(row: ResultRow) -> dict[str, Any]:
    value: dict[str, Any] = {
        name: getattr(row, name) for name in ResultRow.__slots__ if name != "__weakref__"
    }
    cost, judged = row.cost_usd, row.judge_cost_usd
    value["cost_usd"] = None if cost is None else str(cost)
    value["judge_cost_usd"] = None if judged is None else str(judged)
    return value


def _answer(value: dict[str, Any]) -> AnswerView:
    calls = tuple(ToolCall(**call) for call in value.get("tool_calls", ()))
    return AnswerView(str(value.get("text", "")), calls)
