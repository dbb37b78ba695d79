"""Sampling by trace id: a request that starts a trace is sampled when the low 64 bits of its id
fall under `sample_ratio` of their range (as OpenTelemetry's TraceIdRatioBased decides), and
every request, sampled or not, has its trace id on its record; a caller's `traceparent` is
continued, refusals included."""

from __future__ import annotations

import random

import pytest
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from laneway.ledger.record import LedgerRecord
from laneway.telemetry.trace_context import traceparent
from laneway.telemetry.tracing import TraceIds


def record() -> LedgerRecord:
    return LedgerRecord("req_x", 0.0, None, "chat", "gpt-5.4-mini", False, status="refused")


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 1.0])
def test_the_share_sampled_and_the_decision_agree_with_opentelemetrys(ratio: float) -> None:
    ids = TraceIds(random.Random(7), ratio)
    sdk = TraceIdRatioBased(ratio)
    sampled = 0
    for _ in range(4000):
        made = record()
        trace = ids.begin(made, None)
        assert made.trace_id is not None
        trace_id = int(made.trace_id, 16)
        expected = sdk.should_sample(None, trace_id, "x").decision is Decision.RECORD_AND_SAMPLE
        assert (trace is not None) is expected
        if trace is not None:
            assert trace.trace_id == trace_id
            sampled += 1
    assert sampled / 4000 == pytest.approx(ratio, abs=0.03)


def test_the_trace_id_is_a_field_of_its_own_and_annotations_are_left_alone() -> None:
    made = record()
    made.annotations = {"other": "x"}
    TraceIds(random.Random(1)).refused(made)
    assert made.annotations == {"other": "x"}
    assert made.trace_id is not None
    assert len(made.trace_id) == 32
    assert made.trace_id == f"{int(made.trace_id, 16):032x}"  # lower-case, zero-padded


@pytest.mark.parametrize("sampled", [True, False])
def test_a_refusal_continues_the_callers_traceparent(sampled: bool) -> None:
    caller_trace, caller_span = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
    made = record()
    trace = TraceIds(random.Random(1), 0.0).begin(
        made, traceparent(caller_trace, caller_span, sampled).encode()
    )
    assert made.trace_id == f"{caller_trace:032x}"
    if sampled:  # parent-based: the caller's flag decides, whatever the ratio
        assert trace is not None
        assert (trace.trace_id, trace.parent_span_id) == (caller_trace, caller_span)
    else:
        assert trace is None
    other = record()
    TraceIds(random.Random(1)).refused(other, b"garbage")  # ignored: a trace of its own
    assert other.trace_id is not None
    assert other.trace_id != f"{caller_trace:032x}"
