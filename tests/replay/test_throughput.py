"""A cell's throughput ceiling under a tier: min(RPM, TPM / (input + requested cap)), unknown
where the catalog's limits are."""

from __future__ import annotations

from decimal import Decimal

from laneway.pricing.catalog import Catalog
from laneway.replay.throughput import ceiling

CATALOG = Catalog.load()
GPT_5_2 = CATALOG.get("gpt-5.2")  # tier-1: 500 RPM, 500,000 TPM; tier-3: 5,000, 2,000,000


def test_small_requests_are_bound_by_requests_per_minute() -> None:
    small = ceiling(GPT_5_2, "tier-1", [300 + 200, 700 + 300])  # mix 750 tokens
    assert (small.requests_per_min, small.bound_by) == (Decimal(500), "rpm")
    assert small.tokens_per_request == Decimal(750)


def test_large_requests_are_bound_by_tokens_per_minute_counting_the_cap() -> None:
    # 2,000 input + a 4,096 cap each: TPM counts 6,096, though the answers may be short.
    large = ceiling(GPT_5_2, "tier-3", [2_000 + 4_096] * 3)
    assert large.bound_by == "tpm"
    assert large.requests_per_min == Decimal(2_000_000 // 6_096)  # 328, whole requests


def test_unknown_limits_are_unknown_never_unlimited() -> None:
    unsupported = ceiling(GPT_5_2, "free", [100])
    assert (unsupported.requests_per_min, unsupported.bound_by) == (None, "unknown")
