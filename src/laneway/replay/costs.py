"""What one replay call may cost and is expected to cost, from the catalog, before it is made;
and what a finished call is charged against the run's spend cap.

    worst     input tokens, counted exactly (o200k_base, as the emulator counts) x input price
              + output cap x output price, the cap being the line's own (max_output_tokens,
              max_completion_tokens) else the model's max output; laneway's admission figure
              (laneway.pricing.worst_case), so no answer within the cap can cost more
    expected  the same input, and an assumed output: EXPECTED_OUTPUT tokens at the call's
              effort, within its cap. An assumption, shown beside the actual figure later.

A price or a model the catalog lacks gives None (with the plan's note), never zero. A line that
names a lane or "auto" has no model until the gateway routes it: its cost is unknown here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import cost_of
from laneway.pricing.worst_case import WorstCase, usd_of_nano
from laneway.replay.experiment import AS_WRITTEN, Cell
from laneway.replay.line_facts import LineFacts
from laneway.replay.rows import ResultRow
from laneway.usage import Usage
from laneway.wire.batch_lines import BatchLine
from laneway.wire.retarget import effort_of

# Output tokens a call is assumed to write, reasoning included, by effort (None: the model's
# default, taken as medium). Round figures for a short answer plus the effort's reasoning.
EXPECTED_OUTPUT: Final[Mapping[str, int]] = MappingProxyType(
    {"none": 300, "minimal": 400, "low": 800, "medium": 1_500, "high": 3_000, "xhigh": 6_000}
)
DEFAULT_EFFORT: Final = "medium"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CallCost:
    model: str  # the model the call names
    worst_usd: Decimal | None
    expected_usd: Decimal | None


class CallPricer:
    """Worst and expected costs of calls, rates computed once per model."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._worst = WorstCase(catalog)

    def worst(self, facts: LineFacts, cell: Cell) -> Decimal | None:
        """The call's worst case alone, from its line's facts: integer arithmetic, for every
        call of a run."""
        model = facts.model if cell.model == AS_WRITTEN else cell.model
        spec = self._catalog.find(model)
        if spec is None or not facts.readable:
            return None
        nano = self._worst.nano(
            spec.id, facts.input_tokens, facts.max_output, facts.choices, facts.extra_output
        )
        return None if nano is None else usd_of_nano(nano)

    def cost(self, line: BatchLine, facts: LineFacts, cell: Cell) -> CallCost:
        model = facts.model if cell.model == AS_WRITTEN else cell.model
        spec = self._catalog.find(model)
        if spec is None or not facts.readable:
            return CallCost(model, None, None)
        _, output = self.output_tokens(line, facts, cell)
        usage = Usage(input_tokens=facts.input_tokens, output_tokens=output * facts.choices)
        return CallCost(spec.id, self.worst(facts, cell), cost_of(spec, usage).total)

    def output_tokens(
        self, line: BatchLine, facts: LineFacts, cell: Cell
    ) -> tuple[int | None, int]:
        """One answer's output tokens: (its cap, None when unbounded or unknown; the expected
        count, EXPECTED_OUTPUT at the call's effort within that cap)."""
        model = facts.model if cell.model == AS_WRITTEN else cell.model
        spec = self._catalog.find(model)
        effort = cell.effort or effort_of(line.endpoint, line.body) or DEFAULT_EFFORT
        output = EXPECTED_OUTPUT.get(effort, EXPECTED_OUTPUT[DEFAULT_EFFORT])
        cap = facts.max_output
        if cap is None and spec is not None:
            cap = spec.max_output_tokens
        return cap, output if cap is None else min(output, cap)


def cost_unknown(row: ResultRow) -> bool:
    """A row whose cost is unknown though it may have cost something: an answer (or a broken
    stream) without a price or usage, or an attempt given up after it was sent. An error
    before anything was generated costs nothing and is not unknown."""
    if row.cost_usd is not None:
        return False
    return row.status in ("ok", "broken") or row.usage is not None or row.cost_basis is not None


def charge_of(row: ResultRow, worst_usd: Decimal | None) -> Decimal:
    """What a finished call is charged against the spend cap: its exact cost, plus its worst
    case again when an attempt was given up after it was sent (the provider may have billed
    it); an unknown cost is charged the worst case (0 when that is unknown too: such a call
    runs only when told to start over an unbounded worst case); a reused call nothing."""
    if row.reused:
        return _ZERO  # served from the call cache: nothing was sent
    worst = worst_usd if worst_usd is not None else _ZERO
    if cost_unknown(row):
        return worst
    charge = row.cost_usd or _ZERO
    if row.cost_basis == "abandoned":
        charge += worst
    return charge
