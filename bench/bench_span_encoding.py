"""What a sampled request's spans cost to build and encode for OTLP: laneway's own encoder
(SpanFacts, otlp_proto) against OpenTelemetry's (the SDK's ReadableSpans, `encode_spans`,
`SerializeToString`), per span, in batches of 512 spans (the shipper's batch).

The request is a typical answered chat: its request span (20 attributes) and one attempt span
(11). The old path is measured as the spans were built before (SpanFacts made ReadableSpans
stand in for building ReadableSpans from the record; both fill the same attribute dicts).

    .venv/bin/python -m bench.bench_span_encoding [--rounds 20] [--only build|new|old]

`build` is the SpanFacts alone, what both paths share. `--only` runs one path once per round
(for `valgrind --tool=callgrind`, instructions rather than time: run it with two round counts
and divide the difference by the extra rounds' spans).
Needs the `dev` extra for the old path (OpenTelemetry's SDK and encoder).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from decimal import Decimal

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.telemetry.otlp_proto import TraceEncoder
from laneway.telemetry.sdk_export import SdkSpans
from laneway.telemetry.tracing import Trace
from laneway.telemetry.tracing_spans import SCHEMA_URL, SCOPE, SpanMaker, resource_attributes
from laneway.usage import Usage

BATCH_SPANS = 512
VERSION = "0.1.0"


def typical(index: int) -> tuple[Trace, LedgerRecord]:
    """An answered chat through a lane, with usage and a cost: 20 + 11 attributes. What varies
    from request to request does here too (ids, token counts, the cost, times)."""
    start = 1_767_225_600.0 + index * 0.01
    record = LedgerRecord(
        f"req_01JX7Q4W9ZK3M2N8P5R6S{index:06d}", start, "key_3f9a2b", "chat", "lane:support",
        False, status="ok", answering_model="gpt-5.4-mini", provider="openai",
        upstream_request_id=f"req_4f1c2d3e5a6b7c8d9e{index:06d}", http_status=200,
        attempts=(Attempt("openai", "gpt-5.4-mini", 200, 412.3 + index),),
        usage=Usage(1250 + index, 87 + index % 50, cached_input_tokens=1024),
        cost_usd=Decimal("0.000231") + Decimal(index) / 1_000_000, latency_ms=430.1 + index,
        settled_at=start + 0.43, lane="support",
    )  # fmt: skip
    trace_id = random.Random(index).getrandbits(128)
    return Trace(trace_id, None, [start + 0.42]), record


def paths() -> dict[str, Callable[[], bytes]]:
    """Each path: build and encode one batch of BATCH_SPANS spans (from as many requests as
    make it, each different)."""
    requests = [typical(index) for index in range(BATCH_SPANS // 2)]
    maker = SpanMaker(random.Random(2))
    encoder = TraceEncoder(resource_attributes("laneway", VERSION), SCOPE, VERSION, SCHEMA_URL)
    sdk = SdkSpans("laneway", VERSION)

    def build() -> bytes:  # the spans alone, what both paths share
        spans = [span for trace, record in requests for span in maker.spans(trace, record)]
        return b"" if spans else b"-"

    def new() -> bytes:
        spans = [span for trace, record in requests for span in maker.spans(trace, record)]
        return encoder.encode(spans)

    def old() -> bytes:
        facts = [span for trace, record in requests for span in maker.spans(trace, record)]
        return bytes(encode_spans([sdk.readable(span) for span in facts]).SerializeToString())

    return {"build": build, "new": new, "old": old}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", choices=("build", "new", "old"))
    options = parser.parse_args()
    made = paths()
    if options.only is not None:
        for _ in range(options.rounds):
            made[options.only]()
        return
    best: dict[str, float] = {}
    for name, run in made.items():
        run()  # warm: the encoder's key cache, imports
        times = []
        for _ in range(options.rounds):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        best[name] = min(times)
        size = len(run())
        print(f"{name}: {best[name] / BATCH_SPANS * 1e6:.2f} us per span ({size} bytes a batch)")
    built = best["build"]
    print(f"old / new: {best['old'] / best['new']:.1f}x built and encoded, ", end="")
    print(f"{(best['old'] - built) / (best['new'] - built):.1f}x the encoding alone")


if __name__ == "__main__":
    main()
