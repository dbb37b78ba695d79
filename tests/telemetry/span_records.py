"""Ledger records of every shape a span is built from (ok, refused, error after retries and a
fallback, a broken stream, streamed, with and without a caller's span, unicode and long text,
ints past 2**31, a 0 token count, a cost, optional fields missing), with their Traces."""

from __future__ import annotations

from decimal import Decimal

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.telemetry.tracing import Trace
from laneway.usage import Usage

CALLER_SPAN = 0x00F067AA0BA902B7
T0 = 1_767_225_600.25


def _ok() -> LedgerRecord:
    return LedgerRecord(
        "req_ok", T0, "key_1", "chat", "lane:support", False, status="ok",
        answering_model="gpt-5.4-mini", provider="emu", upstream_request_id="up_1",
        attempts=(Attempt("emu", "gpt-5.4-mini", 200, 312.5),), http_status=200,
        usage=Usage(1200, 34, cached_input_tokens=1024, reasoning_tokens=0),
        cost_usd=Decimal("0.000231"), latency_ms=340.75, settled_at=T0 + 0.34, lane="support",
    )  # fmt: skip


def _retried() -> LedgerRecord:
    attempts = (
        Attempt("emu", "gpt-5.2", 503, 20.0, "upstream answered 503"),
        Attempt("emu", "gpt-5.2", None, 5000.0, "timed out waiting for the first byte " * 20),
        Attempt("other", "gpt-5.4", 200, 410.0),
    )
    return LedgerRecord(
        "req_retried", T0, "key_2", "responses", "gpt-5.2", True, status="ok",
        answering_model="gpt-5.4", provider="other", attempts=attempts, http_status=200,
        usage=Usage(3_000_000_000, 5_000_000_000, cache_write_tokens=7), latency_ms=5430.0,
        settled_at=T0 + 5.43, response_id="resp_abc", pair_id="req_primary", shadow=True,
        run_id="run_1",
    )  # fmt: skip


def _error() -> LedgerRecord:
    attempts = (Attempt("emu", "gpt-5.2", 503, 12.0, "upstream answered 503"),)
    return LedgerRecord(
        "req_error", T0, None, "chat", "gpt-5.2", False, status="error", provider="emu",
        attempts=attempts, http_status=503, latency_ms=13.0, settled_at=T0 + 0.013,
    )  # fmt: skip


def _broken() -> LedgerRecord:
    return LedgerRecord(
        "req_broken", T0, "key_1", "chat", "modèle-ünïcødé-模型", True, status="broken",
        answering_model="modèle-ünïcødé-模型", provider="emu",
        attempts=(Attempt("emu", "modèle-ünïcødé-模型", 200, 900.0),), http_status=200,
        usage=Usage(10, 0), cost_usd=Decimal("0"), cost_basis="estimated", latency_ms=901.0,
        settled_at=T0 + 0.9,
    )  # fmt: skip


def _refused() -> LedgerRecord:
    return LedgerRecord(
        "req_refused", T0, "key_3", "embeddings", "text-embedding-3-small", False,
        status="refused", http_status=429, refusal="budget", latency_ms=0.5,
    )  # fmt: skip


def _upstream_refusal() -> LedgerRecord:
    return LedgerRecord(
        "req_quota", T0, "key_3", "chat", "x" * 300, False, status="error", provider="emu",
        attempts=(Attempt("emu", "x" * 300, 429, 3.0, ""),), http_status=429,
        refusal="upstream:insufficient_quota", settled_at=T0 + 0.004,
    )  # fmt: skip


def samples() -> list[tuple[Trace, LedgerRecord]]:
    """Each record with a trace of its own; some continue a caller's span, some with attempt
    ends noted (others end with the request)."""
    return [
        (Trace(0x4BF92F3577B34DA6A3CE929D0E0E4736), _ok()),
        (Trace(1, CALLER_SPAN, [T0 + 0.02, T0 + 5.02]), _retried()),
        (Trace((1 << 128) - 1, CALLER_SPAN), _error()),
        (Trace(0x1234, None, [T0 + 0.9]), _broken()),
        (Trace(0xABCDEF << 64), _refused()),
        (Trace(7, 1), _upstream_refusal()),
    ]
