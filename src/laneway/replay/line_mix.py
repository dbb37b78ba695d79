"""What a cell's throughput ceiling needs from each workload line: the tokens OpenAI counts
against TPM for it (its exact input tokens plus its requested output cap, or the model's own
maximum output when the line sets none) and whether it streams.

Input tokens are counted once per line (the o200k_base count the emulator and OpenAI bill), and
only when some cell's tier limits are known; a cell changes a line's model and effort, never its
prompt, so one count serves every cell. The lines are read from disk (laneway.replay.workload)
and what is kept of them is two integer columns, never a body.
"""

from __future__ import annotations

from array import array
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

_NO_CAP = -1  # the line sets no output cap of its own


@dataclass(frozen=True, slots=True)
class _Seen:
    """A quick pass over the lines: the models they name, the custom_ids of those that stream."""

    models: frozenset[str]
    streamed: frozenset[str]


@dataclass(slots=True)
class LineMix:
    """The workload's lines are read from disk when first needed: once for what is quick to
    know, and once more, counting tokens, only when a ceiling needs the counts."""

    workload: Workload
    catalog: Catalog
    _seen: _Seen | None = field(default=None, init=False)
    _inputs: array[int] | None = field(default=None, init=False)  # per line, its input tokens
    _caps: array[int] | None = field(default=None, init=False)  # per line, its own cap or -1

    def streamed(self) -> frozenset[str]:
        """The custom_ids of the lines that ask for a stream."""
        return self._quick().streamed

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

    def _quick(self) -> _Seen:
        if self._seen is None:
            models: set[str] = set()
            streamed: set[str] = set()
            for line in self.workload.lines():
                models.add(str(line.body["model"]))
                if line.body.get("stream") is True:
                    streamed.add(line.custom_id)
            self._seen = _Seen(frozenset(models), frozenset(streamed))
        return self._seen

    def _spec(self, cell: Cell) -> tuple[ModelSpec | None, str | None]:
        names = self._quick().models if cell.model == AS_WRITTEN else {cell.model}
        if len(names) != 1:
            return None, f"{cell.label}: its lines name several models; no one ceiling"
        (name,) = names
        try:
            return self.catalog.get(name), None
        except UnknownModelError:
            return None, f"{cell.label}: {name} is not in the catalog; its limits are unknown"

    def _counted(self, spec: ModelSpec) -> list[int] | None:
        inputs, caps = self._counts()
        counted = []
        for tokens, own in zip(inputs, caps, strict=True):
            cap = own if own != _NO_CAP else spec.max_output_tokens
            if cap is None:
                return None
            counted.append(tokens + cap)
        return counted

    def _counts(self) -> tuple[array[int], array[int]]:
        """Per line, its input tokens and its own output cap (-1: none), counted once."""
        if self._inputs is None or self._caps is None:
            inputs, caps = array("q"), array("q")
            for line in self.workload.lines():
                inputs.append(exact_input_tokens(line.endpoint, line.body))
                raw = orjson.dumps(line.body)
                cap = read_features(line.endpoint, line.body, len(raw)).max_output_tokens
                caps.append(_NO_CAP if cap is None else cap)
            self._inputs, self._caps = inputs, caps
        return self._inputs, self._caps


def _unknown() -> Ceiling:
    return Ceiling(None, "unknown", Decimal(0))
