"""A plan's worst-case cost, for `laneway route --explain`: apart from the expected cost.

The expected cost ranks candidates (the lane's observed output, else a typical answer); the
worst case is what a budget reserves before the request is sent: the input bound at the input
price plus the most it may write, per choice, at the output price (laneway.pricing.worst_case).
Without a cap from the request, that is the model's whole max output; under a budget laneway
sets its allowance as the cap (laneway.routing.output_cap), and both figures are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from laneway.pricing.money import usd_str
from laneway.pricing.worst_case import WorstCase, usd_of_nano
from laneway.routing.output_cap import plan_cap
from laneway.routing.router import Plan


@dataclass(frozen=True, slots=True)
class WorstView:
    input_tokens: int | None  # the bound on input; None: stored upstream, up to the window
    output_tokens: int | None  # per choice: the request's cap; None: the model's max output
    choices: int
    per_candidate: dict[str, int | None]  # "model@provider" -> nano-USD (None: unpriced)
    budget_cap: int | None  # the cap laneway would set under a budget (None: the request's)
    budget_per_candidate: dict[str, int | None]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "usd": _usd(_most(self.per_candidate)),
            "input_tokens_bound": self.input_tokens,
            "output_tokens": self.output_tokens,
            "choices": self.choices,
            "per_candidate": {k: _usd(v) for k, v in self.per_candidate.items()},
        }
        if self.budget_cap is not None:
            data["under_a_budget"] = {
                "output_cap": self.budget_cap,
                "usd": _usd(_most(self.budget_per_candidate)),
            }
        return data

    def lines(self) -> list[str]:
        inputs = "stored input" if self.input_tokens is None else f"{self.input_tokens:,}"
        output = "the model's max" if self.output_tokens is None else f"{self.output_tokens:,}"
        times = f" x {self.choices} choices" if self.choices > 1 else ""
        lines = [
            f"worst case ${_usd(_most(self.per_candidate)) or 'unknown'} (input up to "
            f"{inputs} tokens + output up to {output} tokens{times}; what a budget reserves)"
        ]
        if self.budget_cap is not None:
            lines.append(
                f"  under a budget laneway caps output at {self.budget_cap:,} tokens: worst case "
                f"${_usd(_most(self.budget_per_candidate)) or 'unknown'}"
            )
        return lines


def worst_view(worst: WorstCase, plan: Plan, allowance: int) -> WorstView | None:
    """The plan's worst case; `allowance`: `[budgets] output_allowance` (a lane's overrides)."""
    features = plan.features
    if features is None:
        return None
    bound = None if features.stored_input else features.input_upper_bound
    most = features.max_output_tokens
    choices, extra = features.choices, features.output_extra
    costs = {c.label: worst.nano(c.model, bound, most, choices, extra) for c in plan.candidates}
    cap = None
    capped: dict[str, int | None] = {}
    if most is None:
        cap = plan_cap(plan, allowance, worst.max_output)
        capped = {c.label: worst.nano(c.model, bound, cap, choices, extra) for c in plan.candidates}
    return WorstView(bound, most, choices, costs, cap, capped)


def _most(costs: dict[str, int | None]) -> int | None:
    """The dearest candidate's; None when any is unpriced (the worst case is unknown)."""
    if not costs or any(cost is None for cost in costs.values()):
        return None
    return max(cost for cost in costs.values() if cost is not None)


def _usd(nano: int | None) -> str | None:
    return None if nano is None else usd_str(usd_of_nano(nano))
