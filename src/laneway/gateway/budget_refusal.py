"""What a budget refusal tells the client: the worst case reserved, its parts, and how to fit.

Only on the refusal path: the parts are worked out again from the plan, never on a request that
is admitted.
"""

from __future__ import annotations

from decimal import Decimal

from laneway.pricing.worst_case import WorstCase
from laneway.routing.router import Plan


def worst_case_parts(worst: WorstCase, plan: Plan) -> str:
    """`gpt-5.4: input up to 1,200 tokens x $2.5/1M + output up to 4,096 tokens x $15/1M x 8
    choices`, on the dearest candidate; and why the output is what it is."""
    features = plan.features
    if features is None:
        return ""
    input_bound = None if features.stored_input else features.input_upper_bound
    most = features.max_output_tokens
    output = most if most is not None else plan.output_cap
    dearest, worst_nano = None, -1
    for candidate in plan.candidates:
        nano = worst.nano(
            candidate.model, input_bound, output, features.choices, features.output_extra
        )
        if nano is not None and nano > worst_nano:
            dearest, worst_nano = candidate.model, nano
    rates = worst.rates(dearest) if dearest is not None else None
    if dearest is None or rates is None:
        return ""
    input_pico, output_pico, model_max = rates
    per_choice = output if output is not None else model_max or 0
    inputs = (
        "stored input up to the model's window"
        if input_bound is None
        else (f"input up to {input_bound:,} tokens x ${_per_million(input_pico)}/1M")
    )
    text = f"{dearest}: {inputs} + output up to {per_choice:,} tokens x "
    text += f"${_per_million(output_pico)}/1M"
    if features.choices > 1:
        text += f" x {features.choices} choices (n)"
    if features.output_extra:
        text += f" + predicted output up to {features.output_extra:,} tokens"
    return text + "; " + _why_output(plan, most)


HOW_TO_FIT = (
    "To fit: set a smaller output cap (max_output_tokens; in Chat max_completion_tokens, and "
    "fewer choices n) or send less input, raise the budget, or use a cheaper model or lane."
)


def _why_output(plan: Plan, most: int | None) -> str:
    if most is not None:
        return "the output is the request's own cap"
    if plan.output_cap is not None:
        return (
            "the output is laneway's output allowance for a request that sets no cap under a "
            "budget, scaled by reasoning effort (x-laneway-output-cap)"
        )
    return "the request sets no output cap, so the model's whole max output is reserved"


def _per_million(pico_per_token: int) -> str:
    return f"{Decimal(pico_per_token).scaleb(-6).normalize():f}"
