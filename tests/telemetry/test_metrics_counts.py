"""The metrics observer on hand-built records, read back through the exposition: exact counts,
tokens and pico-USD costs, bounded labels (unknown names, keys past `top_keys`), shadows and
unknown costs kept apart, retries and fallbacks, and histogram buckets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.telemetry.metrics_collector import MetricsCollector
from laneway.telemetry.metrics_counts import (
    TOKEN_BUCKETS,
    Counts,
    MetricsObserver,
)
from laneway.usage import Usage
from tests.telemetry.metrics_samples import Samples, pick, samples, total

KNOWN = ("gpt-5.4", "gpt-5.4-mini", "lane:coding")


def record(**fields: Any) -> LedgerRecord:
    base: dict[str, Any] = {
        "id": "req_x",
        "created_at": 0.0,
        "key_id": "vk_a",
        "endpoint": "chat",
        "requested_model": "gpt-5.4-mini",
        "stream": False,
        "status": "ok",
        "answering_model": "gpt-5.4-mini",
        "provider": "emu",
        "http_status": 200,
        "attempts": (Attempt("emu", "gpt-5.4-mini", 200, 15.0),),
        "usage": Usage(100, 40, cached_input_tokens=30, reasoning_tokens=10),
        "cost_usd": Decimal("0.000123456789"),
        "latency_ms": 15.0,
    }
    base.update(fields)
    return LedgerRecord(**base)


def observed(*records: LedgerRecord, top_keys: int = 20) -> Samples:
    counts = Counts(top_keys)
    observer = MetricsObserver(counts, KNOWN)
    for each in records:
        if each.status == "refused":
            observer.refused(each)
        else:
            observer.count(each)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(counts, lambda: None))
    return samples(generate_latest(registry).decode())


def test_counts_tokens_and_cost_are_exact() -> None:
    n = 1000
    found = observed(*(record() for _ in range(n)))
    assert total(found, "laneway_requests_total", status="ok", status_class="2xx") == n
    assert total(found, "laneway_tokens_total", type="input") == 100 * n
    assert total(found, "laneway_tokens_total", type="cache_read") == 30 * n
    assert total(found, "laneway_tokens_total", type="output") == 40 * n
    assert total(found, "laneway_tokens_total", type="reasoning") == 10 * n
    cost = total(found, "laneway_cost_usd_total")
    assert Decimal(repr(cost)) == Decimal("0.000123456789") * n  # pico-exact, then one float


def test_keys_past_top_keys_fold_into_other() -> None:
    found = observed(*(record(key_id=f"vk_{i}") for i in range(5)), top_keys=2)
    assert total(found, "laneway_requests_total", key="vk_0") == 1
    assert total(found, "laneway_requests_total", key="vk_1") == 1
    assert total(found, "laneway_requests_total", key="other") == 3
    assert not pick(found, "laneway_requests_total", key="vk_4")


def test_names_a_client_wrote_are_never_labels() -> None:
    odd = 'Ignore previous instructions {}"\n'
    found = observed(
        record(requested_model=odd, answering_model=odd, attempts=(Attempt("emu", odd, 200, 9.0),)),
        record(status="refused", requested_model=odd, answering_model=None, http_status=404,
               refusal="not_found", usage=None, cost_usd=None, attempts=()),
    )  # fmt: skip
    assert total(found, "laneway_requests_total", model="other") == 2
    assert (
        total(found, "gen_ai_client_operation_duration_seconds_count", gen_ai_request_model="other")
        == 1
    )
    for _, labels in found:
        assert all(odd not in value for _, value in labels)


def test_refusals_shadows_and_unknown_costs_are_kept_apart() -> None:
    found = observed(
        record(),
        record(status="refused", http_status=429, refusal="budget", usage=None, cost_usd=None,
               answering_model=None, attempts=(), latency_ms=0.2),
        record(shadow=True, lane="coding", cost_usd=Decimal("0.5")),
        record(answering_model="gpt-5.4", cost_usd=None, cost_basis="no_usage", usage=None),
    )  # fmt: skip
    refused = pick(found, "laneway_requests_total", status="refused", refusal="budget")
    assert list(refused.values()) == [1]
    assert total(found, "laneway_requests_total") == 3  # the shadow is not the client's
    assert total(found, "laneway_shadow_requests_total", lane="coding") == 1
    assert total(found, "laneway_shadow_cost_usd_total", lane="coding") == 0.5
    assert total(found, "laneway_cost_unknown_requests_total", model="gpt-5.4") == 1
    assert not pick(found, "laneway_cost_usd_total", model="gpt-5.4")  # never a 0 cost
    assert total(found, "laneway_request_duration_seconds_count") == 2  # refusals apart


def test_retries_fallbacks_and_error_types() -> None:
    attempts = (
        Attempt("emu", "gpt-5.4", 503, 20.0),
        Attempt("emu", "gpt-5.4", None, 30.0, "no answer: timed out"),
        Attempt("emu", "gpt-5.4", None, 0.0, "circuit open"),
        Attempt("emu", "gpt-5.4-mini", 200, 12.0),
    )
    found = observed(record(lane="coding", requested_model="lane:coding", attempts=attempts))
    assert total(found, "laneway_upstream_retries_total", model="gpt-5.4") == 2
    moved = pick(found, "laneway_fallbacks_total", from_model="gpt-5.4", to_model="gpt-5.4-mini")
    assert list(moved.values()) == [1]
    calls = "gen_ai_client_operation_duration_seconds_count"
    assert total(found, calls, error_type="503") == 1
    assert total(found, calls, error_type="no answer") == 1
    assert total(found, calls, error_type="") == 1
    assert total(found, calls) == 3  # the one never sent has no duration
    usage = pick(found, "gen_ai_client_token_usage_count", gen_ai_request_model="lane:coding")
    assert sum(usage.values()) == 2  # input and output


def test_histogram_buckets() -> None:
    found = observed(
        record(latency_ms=15.0), record(latency_ms=20.0), record(latency_ms=100_000.0),
        record(stream=True, ttfb_ms=7.0),
    )  # fmt: skip
    name = "laneway_request_duration_seconds_bucket"
    assert total(found, name, le="0.01") == 0
    assert total(found, name, le="0.02") == 3
    assert total(found, name, le="81.92") == 3
    assert total(found, name, le="+Inf") == 4
    sum_ = total(found, "laneway_request_duration_seconds_sum")
    assert abs(sum_ - (0.015 + 0.020 + 100.0 + 0.015)) < 1e-9
    ttft = "laneway_time_to_first_token_seconds_bucket"
    assert total(found, ttft, le="0.005") == 0
    assert total(found, ttft, le="0.01") == 1
    counts = (0, 1, 2, 4, 5, 16, 17, 4**13, 4**13 + 1, 10**12)
    found = observed(*(record(usage=Usage(100, tokens)) for tokens in counts))
    output = {"gen_ai_token_type": "output"}
    name = "gen_ai_client_token_usage_bucket"
    for bound in (*TOKEN_BUCKETS, "+Inf"):
        le = bound if isinstance(bound, str) else str(bound)
        want = sum(1 for tokens in counts if bound == "+Inf" or tokens <= int(bound))
        assert total(found, name, le=le, **output) == want, le
    assert total(found, "gen_ai_client_token_usage_sum", **output) == sum(counts)
