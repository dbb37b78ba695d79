"""Sampling by trace id: a request that starts a trace is sampled when the low 64 bits of its id
fall under `sample_ratio` of their range (as OpenTelemetry's TraceIdRatioBased decides), and
every request, sampled or not, has its trace id on its record."""

from __future__ import annotations

import random

import pytest
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from laneway.ledger.record import LedgerRecord
from laneway.telemetry.tracing import TRACE_ID, TraceIds


def record() -> LedgerRecord:
    return LedgerRecord("req_x", 0.0, None, "chat", "gpt-5.4-mini", False, status="refused")


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 1.0])
def test_the_share_sampled_and_the_decision_agree_with_opentelemetrys(ratio: float) -> None:
    ids = TraceIds(random.Random(7), ratio)
    sdk = TraceIdRatioBased(ratio)
    sampled = 0
    for _ in range(4000):
        made = record()
        trace = ids.refusal(made)
        trace_id = int((made.annotations or {})[TRACE_ID], 16)
        expected = sdk.should_sample(None, trace_id, "x").decision is Decision.RECORD_AND_SAMPLE
        assert (trace is not None) is expected
        if trace is not None:
            assert trace.trace_id == trace_id
            sampled += 1
    assert sampled / 4000 == pytest.approx(ratio, abs=0.03)


def test_an_annotation_already_there_is_kept() -> None:
    made = record()
    made.annotations = {"other": "x"}
    TraceIds(random.Random(1)).refusal(made)
    assert made.annotations is not None
    assert made.annotations.keys() == {"other", TRACE_ID}
    assert len(made.annotations[TRACE_ID]) == 32
