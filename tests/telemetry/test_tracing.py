"""Spans from real traffic: the official SDK (strict) through a gateway with `[tracing]` on, to
the emulator; the spans read back from the SDK's in-memory exporter. One span per request
(SERVER) with the GenAI attributes, one per attempt (CLIENT) under it; the trace id the client
gets in `x-laneway-trace-id` is the ledger record's and the spans'; a caller's `traceparent`
is continued."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from laneway.emulator.server import EmulatorServer
from laneway.pricing.money import usd_str
from laneway.telemetry.trace_context import traceparent
from tests.sdk import sdk
from tests.telemetry.conftest import BROKEN_MODEL, Traced, start_traced, traced_config

CALLER_TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_SPAN = 0x00F067AA0BA902B7


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


def test_a_chat_has_a_request_span_and_an_attempt_span(traced: Traced) -> None:
    with sdk(traced.base_url, "sk-client-key") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="lane:support",
            messages=[{"role": "user", "content": "Name a colour."}],
            max_completion_tokens=100,
        )
        raw.parse()
    record = traced.record(raw.headers["x-laneway-request-id"])
    trace_hex = raw.headers["x-laneway-trace-id"]
    assert record.trace_id == trace_hex
    assert record.annotations is None  # a column of its own
    request, attempt = traced.spans_of(record.id, 2)

    assert f"{request.context.trace_id:032x}" == trace_hex
    assert request.parent is None  # no caller's traceparent: laneway's span is the root
    assert request.name == "chat lane:support"
    assert request.kind is SpanKind.SERVER
    assert request.status.status_code is StatusCode.UNSET
    assert request.resource.attributes["service.name"] == "laneway-test"
    found = attributes(request)
    usage = record.usage
    assert usage is not None
    assert record.cost_usd is not None
    assert found["gen_ai.operation.name"] == "chat"
    assert found["gen_ai.provider.name"] == "openai"
    assert found["gen_ai.request.model"] == "lane:support"
    assert found["gen_ai.response.model"] == record.answering_model == "gpt-5.4-mini"
    assert found["gen_ai.usage.input_tokens"] == usage.input_tokens > 0
    assert found["gen_ai.usage.output_tokens"] == usage.output_tokens > 0
    assert found["gen_ai.usage.cache_read.input_tokens"] == usage.cached_input_tokens
    assert found["gen_ai.usage.reasoning.output_tokens"] == usage.reasoning_tokens
    assert found["laneway.cost_usd"] == usd_str(record.cost_usd)
    assert Decimal(str(found["laneway.cost_usd"])) == record.cost_usd  # exact, as text
    assert found["laneway.lane"] == "support"
    assert found["laneway.record_id"] == record.id
    assert found["laneway.key_id"] == record.key_id
    assert found["laneway.attempts"] == 1
    assert found["http.response.status_code"] == 200
    assert "error.type" not in found

    assert attempt.parent is not None
    assert attempt.parent.span_id == request.context.span_id
    assert attempt.context.trace_id == request.context.trace_id
    assert attempt.kind is SpanKind.CLIENT
    assert attempt.name == "chat gpt-5.4-mini"
    assert attributes(attempt)["laneway.provider"] == "emu"
    assert attributes(attempt)["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert request.start_time is not None
    assert request.end_time is not None
    assert attempt.start_time is not None
    assert attempt.end_time is not None
    assert request.start_time <= attempt.start_time <= attempt.end_time <= request.end_time
    assert request.end_time - request.start_time == pytest.approx(
        (record.latency_ms or 0) * 1e6, abs=1000
    )


def test_a_callers_traceparent_is_continued(traced: Traced) -> None:
    with sdk(traced.base_url, "sk-client-key") as client:
        raw = client.responses.with_raw_response.create(
            model="gpt-5.4-mini",
            input="Name a river.",
            extra_headers={"traceparent": traceparent(CALLER_TRACE, CALLER_SPAN, True)},
        )
        response = raw.parse()
    assert raw.headers["x-laneway-trace-id"] == f"{CALLER_TRACE:032x}"
    record = traced.record(raw.headers["x-laneway-request-id"])
    assert record.trace_id == f"{CALLER_TRACE:032x}"
    request, attempt = traced.spans_of(record.id, 2)
    assert request.context.trace_id == attempt.context.trace_id == CALLER_TRACE
    assert request.parent is not None
    assert request.parent.span_id == CALLER_SPAN
    assert request.parent.is_remote
    assert attributes(request)["gen_ai.response.id"] == response.id == record.response_id


def test_an_unsampled_caller_gets_its_trace_id_and_no_spans(traced: Traced) -> None:
    trace_id = CALLER_TRACE + 1
    with sdk(traced.base_url, "sk-client-key") as client:
        raw = client.responses.with_raw_response.create(
            model="gpt-5.4-mini",
            input="Name a hill.",
            extra_headers={"traceparent": traceparent(trace_id, CALLER_SPAN, False)},
        )
        raw.parse()
        # Then one sampled request, so the unsampled one would have been shipped before it.
        marker = client.responses.with_raw_response.create(model="gpt-5.4-mini", input="Hi.")
        marker.parse()
    assert raw.headers["x-laneway-trace-id"] == f"{trace_id:032x}"
    traced.spans_of(marker.headers["x-laneway-request-id"], 2)
    unsampled = raw.headers["x-laneway-request-id"]
    shipped = traced.exporter.get_finished_spans()
    assert all(attributes(s).get("laneway.record_id") != unsampled for s in shipped)
    assert all(s.context.trace_id != trace_id for s in shipped)


@pytest.mark.parametrize(
    "header",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # 00 with more
        "garbage",
    ],
)
def test_a_malformed_traceparent_starts_a_trace_of_its_own(traced: Traced, header: str) -> None:
    with sdk(traced.base_url, "sk-client-key") as client:
        raw = client.responses.with_raw_response.create(
            model="gpt-5.4-mini", input="Name a lake.", extra_headers={"traceparent": header}
        )
        raw.parse()
    assert raw.headers["x-laneway-trace-id"] != f"{CALLER_TRACE:032x}"
    (request, _) = traced.spans_of(raw.headers["x-laneway-request-id"], 2)
    assert request.parent is None
    assert f"{request.context.trace_id:032x}" == raw.headers["x-laneway-trace-id"]


def test_retries_and_a_fallback_are_attempt_spans(traced: Traced) -> None:
    with sdk(traced.base_url, "sk-client-key") as client:
        raw = client.chat.completions.with_raw_response.create(
            model=BROKEN_MODEL, messages=[{"role": "user", "content": "Hello."}]
        )
        raw.parse()
    record = traced.record(raw.headers["x-laneway-request-id"])
    assert [a.model for a in record.attempts] == [BROKEN_MODEL] * 3 + ["gpt-5.4"]
    request, *attempts = traced.spans_of(record.id, 5)
    assert request.status.status_code is StatusCode.UNSET  # answered, by the fallback
    assert attributes(request)["laneway.attempts"] == 4
    assert [s.name for s in attempts] == [f"chat {BROKEN_MODEL}"] * 3 + ["chat gpt-5.4"]
    assert [attributes(s)["laneway.attempt"] for s in attempts] == [1, 2, 3, 4]
    assert [attributes(s).get("laneway.attempt.next") for s in attempts] == [
        "retry",
        "retry",
        "fallback",
        None,
    ]
    for failed in attempts[:3]:
        assert failed.status.status_code is StatusCode.ERROR
        assert attributes(failed)["error.type"] == "503"
        assert attributes(failed)["http.response.status_code"] == 503
    last = attempts[3]
    assert last.status.status_code is StatusCode.UNSET
    assert "error.type" not in attributes(last)
    assert (
        attributes(last)["gen_ai.usage.output_tokens"]
        == attributes(request)["gen_ai.usage.output_tokens"]
    )
    ends = [s.end_time or 0 for s in attempts]
    assert ends == sorted(ends)  # in the order they were made


def test_a_request_that_gets_no_answer_is_an_error_span(traced: Traced) -> None:
    with sdk(traced.base_url, "sk-client-key") as client, pytest.raises(openai.APIStatusError):
        client.chat.completions.create(
            model="gpt-5.4-nano",
            messages=[{"role": "user", "content": "Hello."}],
            extra_headers={"x-emulator-fault": "status=500"},
        )
    (record,) = [
        r for r in traced.records() if r.requested_model == "gpt-5.4-nano" and r.status == "error"
    ]
    request, *attempts = traced.spans_of(record.id, 1 + len(record.attempts))
    assert request.status.status_code is StatusCode.ERROR
    assert attributes(request)["error.type"] == str(record.http_status)
    assert all(s.status.status_code is StatusCode.ERROR for s in attempts)


def test_a_refusal_is_a_span_without_attempts(traced: Traced) -> None:
    with (
        sdk(traced.base_url, "sk-client-key") as client,
        pytest.raises(openai.RateLimitError) as refused,
    ):
        client.chat.completions.create(
            model="lane:tiny", messages=[{"role": "user", "content": "Hello."}]
        )
    headers = refused.value.response.headers
    record = traced.record(headers["x-laneway-request-id"])
    assert record.status == "refused"
    assert record.refusal == "budget"
    assert record.trace_id == headers["x-laneway-trace-id"]
    (request,) = traced.spans_of(record.id, 1)
    assert f"{request.context.trace_id:032x}" == headers["x-laneway-trace-id"]
    assert request.status.status_code is StatusCode.UNSET  # laneway refused, as designed
    assert attributes(request)["error.type"] == "budget"
    assert attributes(request)["laneway.refusal"] == "budget"
    assert attributes(request)["http.response.status_code"] == 429
    assert attributes(request)["laneway.attempts"] == 0
    assert "laneway.cost_usd" not in attributes(request)  # unknown is absent, never 0


def test_a_refusal_before_routing_continues_the_callers_trace(traced: Traced) -> None:
    trace_id = CALLER_TRACE + 2
    with (
        sdk(traced.base_url, "sk-client-key") as client,
        pytest.raises(openai.NotFoundError) as refused,
    ):
        client.chat.completions.create(
            model="lane:no-such-lane",
            messages=[{"role": "user", "content": "Hello."}],
            extra_headers={"traceparent": traceparent(trace_id, CALLER_SPAN, True)},
        )
    headers = refused.value.response.headers
    assert headers["x-laneway-trace-id"] == f"{trace_id:032x}"  # in the error response too
    record = traced.record(headers["x-laneway-request-id"])
    assert (record.status, record.route) == ("refused", None)  # refused before routing
    assert record.trace_id == f"{trace_id:032x}"
    (request,) = traced.spans_of(record.id, 1)
    assert request.context.trace_id == trace_id
    assert request.parent is not None
    assert request.parent.span_id == CALLER_SPAN


def test_a_stream_is_traced_once_it_ends(traced: Traced) -> None:
    with (
        sdk(traced.base_url, "sk-client-key") as client,
        client.chat.completions.with_streaming_response.create(
            model="gpt-5.4-mini",
            messages=[{"role": "user", "content": "Count to five."}],
            stream=True,
        ) as answer,
    ):
        record_id = answer.headers["x-laneway-request-id"]
        chunks = list(answer.parse())
    assert chunks
    request, _ = traced.spans_of(record_id, 2)
    assert attributes(request)["laneway.stream"] is True
    assert attributes(request)["gen_ai.usage.output_tokens"] == (
        traced.record(record_id).usage.output_tokens  # type: ignore[union-attr]
    )


def test_sample_ratio_zero_gives_trace_ids_and_no_spans(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ledger = tmp_path_factory.mktemp("unsampled") / "ledger.db"
    running = start_traced(traced_config(emulator, ledger, tracing={"sample_ratio": 0}))
    try:
        with sdk(running.base_url, "sk-client-key") as client:
            ids = set()
            for _ in range(3):
                raw = client.responses.with_raw_response.create(model="gpt-5.4-mini", input="Hi")
                raw.parse()
                ids.add(raw.headers["x-laneway-trace-id"])
        assembly = running.server.assembly
        assert assembly is not None
        assert assembly.tracing is not None
        shipper = assembly.tracing[1]
        assert shipper is not None
        shipper.flush()
        assert running.exporter.get_finished_spans() == ()
        assert len(ids) == 3
        assert all(len(i) == 32 and int(i, 16) for i in ids)
    finally:
        running.server.stop()
