"""laneway's OTLP protobuf encoder against OpenTelemetry's own: the same spans (as the SDK
adapter's ReadableSpans for OpenTelemetry, as SpanFacts for laneway), encoded by both, parsed
by the official `ExportTraceServiceRequest` class, are equal messages; and byte for byte the
same, since both write fields in field-number order."""

from __future__ import annotations

import enum
import random

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from laneway.telemetry.otlp_proto import TraceEncoder, field, varint
from laneway.telemetry.sdk_export import SdkSpans
from laneway.telemetry.tracing_spans import (
    CLIENT,
    SCHEMA_URL,
    SCOPE,
    SERVER,
    SpanFacts,
    SpanMaker,
    resource_attributes,
)
from tests.telemetry.span_records import samples

VERSION = "1.2.3"


def both(spans: list[SpanFacts]) -> tuple[ExportTraceServiceRequest, bytes, bytes]:
    """laneway's encoding parsed, its bytes, and OpenTelemetry's bytes."""
    ours = TraceEncoder(resource_attributes("laneway-test", VERSION), SCOPE, VERSION, SCHEMA_URL)
    encoded = ours.encode(spans)
    sdk = SdkSpans("laneway-test", VERSION)
    theirs = encode_spans([sdk.readable(span) for span in spans])
    assert ExportTraceServiceRequest.FromString(encoded) == theirs
    return ExportTraceServiceRequest.FromString(encoded), encoded, theirs.SerializeToString()


@pytest.mark.parametrize("index", range(len(samples())))
def test_each_records_spans_encode_as_opentelemetrys_encoder_does(index: int) -> None:
    trace, record = samples()[index]
    spans = SpanMaker(random.Random(index)).spans(trace, record)
    parsed, ours, theirs = both(spans)
    assert ours == theirs
    found = parsed.resource_spans[0].scope_spans[0].spans
    assert [span.name for span in found] == [span.name for span in spans]
    assert len(found[0].attributes) == len(spans[0].attributes)  # none dropped


def test_a_batch_of_every_record_encodes_as_one_request_as_opentelemetrys() -> None:
    maker = SpanMaker(random.Random(5))
    spans = [span for trace, record in samples() for span in maker.spans(trace, record)]
    parsed, ours, theirs = both(spans * 40)  # a large batch: multi-byte lengths
    assert len(ours) > 1 << 14
    assert ours == theirs
    resource = {a.key: a.value.string_value for a in parsed.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "laneway-test"
    assert resource["telemetry.sdk.name"] == "laneway"
    scope = parsed.resource_spans[0].scope_spans[0]
    assert (scope.scope.name, scope.scope.version, scope.schema_url) == (
        SCOPE,
        VERSION,
        SCHEMA_URL,
    )


def test_values_of_every_kind_and_edge_encode_as_opentelemetrys() -> None:
    attributes: dict[str, str | bool | int | float] = {
        "empty": "",
        "long": "é" * 5000,
        "true": True,
        "false": False,
        "zero": 0,
        "big": 2**40,
        "int64 max": 2**63 - 1,
        "negative": -1,
        "int64 min": -(2**63),
        "double": 0.25,
        "negative double": -1e300,
        "zero double": 0.0,
    }
    span = SpanFacts("a span", 2**127 + 5, 2**63 + 9, 2**64 - 1, True, SERVER, 1, 2**64 - 1,
                     attributes, 2, "why: ünïcødé")  # fmt: skip
    child = SpanFacts("child", 3, 4, 2**63 + 9, False, CLIENT, 0, 0, {}, 2, None)
    parsed, ours, theirs = both([span, child])
    assert ours == theirs
    spans = parsed.resource_spans[0].scope_spans[0].spans
    assert spans[0].flags == 0x300  # its parent is remote
    assert spans[1].flags == 0x100  # its parent is not
    assert spans[0].attributes[6].value.int_value == 2**63 - 1


def test_an_int_past_int64_is_dropped_as_opentelemetry_drops_it() -> None:
    span = SpanFacts("s", 1, 2, None, False, SERVER, 1, 2, {"huge": 2**64, "kept": 1})
    parsed, _, _ = both([span])
    assert [a.key for a in parsed.resource_spans[0].scope_spans[0].spans[0].attributes] == ["kept"]


def test_varints_and_lengths() -> None:
    assert [varint(n) for n in (0, 1, 127, 128, 300, 2**64 - 1)] == [
        b"\x00", b"\x01", b"\x7f", b"\x80\x01", b"\xac\x02", b"\xff" * 9 + b"\x01",
    ]  # fmt: skip
    assert field(0x0A, b"x" * 200)[:3] == b"\x0a\xc8\x01"


class Level(enum.IntEnum):
    HIGH = 3


class Colour(enum.StrEnum):
    RED = "red"


def test_an_enums_member_encodes_as_its_plain_value_as_opentelemetrys() -> None:
    span = SpanFacts(
        "s", 1, 2, None, False, SERVER, 1, 2, {"level": Level.HIGH, "colour": Colour.RED}
    )
    parsed, ours, theirs = both([span])
    assert ours == theirs
    values = parsed.resource_spans[0].scope_spans[0].spans[0].attributes
    assert (values[0].value.int_value, values[1].value.string_value) == (3, "red")
