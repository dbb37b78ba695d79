"""What a workload holds: its lines by endpoint, model, effort and lane, the distribution of its
input tokens (counted as the emulator counts them) and of its output caps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from laneway.wire.features import exact_input_tokens
from laneway.wire.retarget import effort_of
from laneway.workloads.lines import Line

_CAP_FIELDS = ("max_output_tokens", "max_completion_tokens", "max_tokens")
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class Distribution:
    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: int

    @classmethod
    def of(cls, values: Sequence[int]) -> Distribution | None:
        if not values:
            return None
        array = np.asarray(values, dtype=np.float64)
        p50, p90, p99 = (float(v) for v in np.percentile(array, [50, 90, 99]))
        return cls(len(values), float(array.mean()), p50, p90, p99, int(array.max()))


@dataclass(frozen=True, slots=True)
class WorkloadStats:
    lines: int
    endpoints: dict[str, int]
    models: dict[str, int]
    efforts: dict[str, int]
    lanes: dict[str, int]  # captured lines' lanes (NONE: not captured, or outside any lane)
    input_tokens: Distribution | None
    output_caps: Distribution | None  # over the lines that set one
    uncapped: int  # lines that set no output cap

    def as_json(self) -> dict[str, Any]:
        plain = {name: getattr(self, name) for name in self.__slots__}
        for name in ("input_tokens", "output_caps"):
            figures = plain[name]
            plain[name] = (
                None
                if figures is None
                else {field: getattr(figures, field) for field in figures.__slots__}
            )
        return plain


def workload_stats(lines: Sequence[Line]) -> WorkloadStats:
    endpoints: Counter[str] = Counter()
    models: Counter[str] = Counter()
    efforts: Counter[str] = Counter()
    lanes: Counter[str] = Counter()
    tokens: list[int] = []
    caps: list[int] = []
    for entry in lines:
        line = entry.line
        endpoints[line.endpoint] += 1
        models[str(line.body.get("model"))] += 1
        efforts[effort_of(line.endpoint, line.body) or NONE] += 1
        lanes[_lane(line.laneway)] += 1
        tokens.append(exact_input_tokens(line.endpoint, line.body))
        cap = next((line.body[f] for f in _CAP_FIELDS if isinstance(line.body.get(f), int)), None)
        if cap is not None:
            caps.append(cap)
    return WorkloadStats(
        len(lines),
        dict(endpoints.most_common()),
        dict(models.most_common()),
        dict(efforts.most_common()),
        dict(lanes.most_common()),
        Distribution.of(tokens),
        Distribution.of(caps),
        len(lines) - len(caps),
    )


def _lane(facts: Any) -> str:
    lane = facts.get("lane") if isinstance(facts, dict) else None
    return lane if isinstance(lane, str) else NONE
