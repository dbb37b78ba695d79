"""A cell's sustainable throughput under a usage tier: the requests per minute its RPM and TPM
allow for the workload's token mix.

OpenAI counts a request against TPM as its input tokens plus its requested output cap
(`max_output_tokens` / `max_completion_tokens`), not the output it ends up writing, so the mix is
the mean of (input + cap) over the workload's requests. The ceiling is min(RPM, TPM / that mean).
Limits the catalog does not know give None ("unknown"), never "unlimited".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from laneway.pricing.model_spec import ModelSpec, Tier


@dataclass(frozen=True, slots=True)
class Ceiling:
    requests_per_min: Decimal | None  # None: the tier's limits are unknown
    bound_by: str  # "rpm", "tpm" or "unknown"
    tokens_per_request: Decimal  # the mix: mean of input + requested output cap


def ceiling(spec: ModelSpec, tier: Tier, counted: Iterable[int]) -> Ceiling:
    """`counted`: per request, the tokens TPM counts (input + requested output cap)."""
    total = count = 0
    for tokens in counted:
        total += tokens
        count += 1
    mix = Decimal(total) / count if count else Decimal(0)
    limit = spec.tier_limit(tier)
    if limit is None:
        return Ceiling(None, "unknown", mix)
    by_tokens = Decimal(limit.tpm) / mix if mix else None
    if by_tokens is None or limit.rpm <= by_tokens:
        return Ceiling(Decimal(limit.rpm), "rpm", mix)
    return Ceiling(by_tokens.quantize(Decimal(1), rounding=ROUND_FLOOR), "tpm", mix)
