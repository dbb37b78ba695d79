"""What a cell's throughput ceiling needs from each workload line: the tokens OpenAI counts
against TPM for it (its exact input tokens plus its requested output cap, or the model's own
maximum output when the line sets none) and whether it streams.

Input tokens are counted once per line (the o200k_base count the emulator and OpenAI bill), and
only when some cell's tier limits are known; a cell changes a line's model and effort, never its
prompt, so one count serves every cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import orjson

from laneway.errors import UnknownModelError
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import TIERS, ModelSpec, Tier
from laneway.replay.experiment import AS_WRITTEN, Cell
from laneway.replay.throughput import Ceiling, ceiling
from laneway.replay.workload import Workload
from laneway.wire.features import exact_input_tokens, read_features


@dataclass(slots=True)
class LineMix:
    workload: Workload
    catalog: Catalog
    _inputs: list[int] | None = field(default=None, init=False)

    def streamed(self) -> frozenset[str]:
        """The custom_ids of the lines that ask for a stream."""
        return frozenset(
            line.custom_id for line in self.workload.lines if line.body.get("stream") is True
        )

    def ceiling(self, cell: Cell, tier: str | None) -> tuple[Ceiling, str | None]:
        """The cell's ceiling under `tier`, and a note when it cannot be known."""
        spec, why = self._spec(cell)
        if spec is None:
            return _unknown(), why
        if tier not in TIERS:
            return _unknown(), None if tier is None else f"tier {tier!r} is not one laneway knows"
        known: Tier = tier
        if spec.tier_limit(known) is None:
            return ceiling(spec, known, ()), None
        counted = self._counted(spec)
        if counted is None:
            return _unknown(), f"{cell.label}: the catalog does not know {spec.id}'s output cap"
        return ceiling(spec, known, counted), None

    def _spec(self, cell: Cell) -> tuple[ModelSpec | None, str | None]:
        names = (
            {line.body["model"] for line in self.workload.lines}
            if cell.model == AS_WRITTEN
            else {cell.model}
        )
        if len(names) != 1:
            return None, f"{cell.label}: its lines name several models; no one ceiling"
        (name,) = names
        try:
            return self.catalog.get(name), None
        except UnknownModelError:
            return None, f"{cell.label}: {name} is not in the catalog; its limits are unknown"

    def _counted(self, spec: ModelSpec) -> list[int] | None:
        inputs = self._input_tokens()
        counted = []
        for line, tokens in zip(self.workload.lines, inputs, strict=True):
            raw = orjson.dumps(line.body)
            cap = read_features(line.endpoint, line.body, len(raw)).max_output_tokens
            cap = cap if cap is not None else spec.max_output_tokens
            if cap is None:
                return None
            counted.append(tokens + cap)
        return counted

    def _input_tokens(self) -> list[int]:
        if self._inputs is None:
            self._inputs = [
                exact_input_tokens(line.endpoint, line.body) for line in self.workload.lines
            ]
        return self._inputs


def _unknown() -> Ceiling:
    return Ceiling(None, "unknown", Decimal(0))
