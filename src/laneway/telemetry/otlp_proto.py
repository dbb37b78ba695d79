"""OTLP's `ExportTraceServiceRequest` in protobuf's wire format, written by hand from
`SpanFacts` (opentelemetry-proto: collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
common/v1/common.proto, resource/v1/resource.proto).

Why not OpenTelemetry's encoder: it builds a protobuf object per span, attribute and value in
Python, which was most of a sampled request's cost. Here a span is a few `bytes` joined: field
tags are constants, each attribute key's encoded `KeyValue.key` is made once and kept, and the
resource and scope of a batch are encoded once per process, and so is each attribute whose
value repeats (`chat`, `openai`, a model, a status). The output is what OpenTelemetry's
encoder makes of the same spans (tests/telemetry/test_otlp_proto.py parses it with the
official classes and compares), fields in field-number order as protobuf writes them.

    ExportTraceServiceRequest { 1 resource_spans: ResourceSpans }
    ResourceSpans { 1 resource: Resource { 1 attributes }, 2 scope_spans, 3 schema_url }
    ScopeSpans { 1 scope: InstrumentationScope { 1 name, 2 version }, 2 spans, 3 schema_url }
    Span { 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 7 start (fixed64),
           8 end (fixed64), 9 attributes, 15 status { 2 message, 3 code }, 16 flags (fixed32) }
    KeyValue { 1 key, 2 value: AnyValue { 1 string, 2 bool, 3 int64, 4 double } }
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from laneway.telemetry.tracing_spans import AttributeValue, SpanFacts

# A field's tag (the 0x.. constants below): its number << 3 | its wire type (0 varint,
# 1 fixed64, 2 length-delimited, 5 fixed32); Span.flags (16) takes two bytes, 0x85 0x01.
_BYTE = [bytes((value,)) for value in range(256)]
# Span.flags: SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, and SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK when
# the parent is remote: what OpenTelemetry's encoder sets on every span.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
# Each key's first values (str and int) are kept encoded: most repeat from span to span (the
# operation, provider, models, statuses, small counts); a key whose values do not (a record
# id) stops adding once it holds this many.
_KNOWN_VALUES = 256

_LOW64 = (1 << 64) - 1
_IDS = struct.Struct(">BBQQBBQ")  # trace_id (16 bytes as two halves) and span_id
_IDS_PARENT = struct.Struct(">BBQQBBQBBQ")  # and parent_span_id
_TIMES = struct.Struct("<BQBQ")  # start and end, fixed64
_TIME = struct.Struct("<BQ")
_FLAGS = {
    False: b"\x85\x01" + struct.pack("<I", _HAS_IS_REMOTE),
    True: b"\x85\x01" + struct.pack("<I", _HAS_IS_REMOTE | _IS_REMOTE),
}
_DOUBLE = struct.Struct("<Bd")
_KINDS = [b"\x30" + _BYTE[kind] for kind in range(6)]
_STATUS_UNSET = b"\x7a\x00"  # OpenTelemetry's encoder always writes a Status, empty when unset
_UNSET_TAILS = {remote: _STATUS_UNSET + flags for remote, flags in _FLAGS.items()}
_TRUE = b"\x12\x02\x10\x01"  # KeyValue.value = AnyValue { bool_value: true }
_FALSE = b"\x12\x02\x10\x00"


def varint(value: int) -> bytes:
    """A non-negative integer as a base-128 varint."""
    if value < 0x80:
        return _BYTE[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    size = len(payload)
    if size < 0x80:
        return _BYTE[tag] + _BYTE[size] + payload
    return _BYTE[tag] + varint(size) + payload


class TraceEncoder:
    """Encodes batches of one process's spans: its resource and scope, encoded once."""

    def __init__(
        self, resource: Mapping[str, AttributeValue], scope: str, version: str, schema_url: str
    ) -> None:
        self._keys: dict[str, bytes] = {}
        self._known: dict[str, dict[str | int, bytes]] = {}
        attributes = b"".join(field(0x0A, self._key_value(k, v)) for k, v in resource.items())
        # ResourceSpans.resource, and the start of ScopeSpans before its spans.
        self._resource = field(0x0A, attributes)
        self._scope = field(0x0A, field(0x0A, scope.encode()) + field(0x12, version.encode()))
        self._schema = field(0x1A, schema_url.encode()) if schema_url else b""

    def encode(self, spans: Sequence[SpanFacts]) -> bytes:
        """One `ExportTraceServiceRequest` holding `spans` (under one resource and scope)."""
        encoded = [field(0x12, self.span(span)) for span in spans]
        # The lengths first, so that the batch (hundreds of KB) is copied once, by one join.
        scope_size = len(self._scope) + sum(map(len, encoded)) + len(self._schema)
        scope_head = b"\x12" + varint(scope_size)
        size = len(self._resource) + len(scope_head) + scope_size
        head = [b"\x0a", varint(size), self._resource, scope_head, self._scope]
        return b"".join([*head, *encoded, self._schema])

    def span(self, span: SpanFacts) -> bytes:
        """One `Span` message (without its own tag and length)."""
        trace_id, parent = span.trace_id, span.parent_span_id
        high, low = trace_id >> 64, trace_id & _LOW64
        if parent is None:
            ids = _IDS.pack(0x0A, 16, high, low, 0x12, 8, span.span_id)
        else:
            ids = _IDS_PARENT.pack(0x0A, 16, high, low, 0x12, 8, span.span_id, 0x22, 8, parent)
        name = span.name.encode(errors="replace")
        size = len(name)
        start, end = span.start_ns, span.end_ns
        if start and end:
            times = _TIMES.pack(0x39, start, 0x41, end)
        else:  # proto3 writes no field that holds its default (0)
            times = b"".join(_TIME.pack(tag, ns) for tag, ns in ((0x39, start), (0x41, end)) if ns)
        parts = [
            ids,
            b"\x2a",
            _BYTE[size] if size < 0x80 else varint(size),
            name,
            _KINDS[span.kind],
            times,
        ]
        known_by_key, attribute = self._known, self._attribute
        for key, value in span.attributes.items():
            kind = type(value)
            if kind is not str and kind is not int:  # True == 1 == 1.0: never mixed in a dict
                parts.append(attribute(key, value))
                continue
            known = known_by_key.get(key)
            if known is None:
                known = known_by_key[key] = {}
            encoded = known.get(value)  # type: ignore[arg-type]
            if encoded is None:
                encoded = attribute(key, value)
                if len(known) < _KNOWN_VALUES:
                    known[value] = encoded  # type: ignore[index]
            parts.append(encoded)
        if span.status_code or span.status_message:
            parts.append(_status(span.status_code, span.status_message))
            parts.append(_FLAGS[span.parent_remote])
        else:
            parts.append(_UNSET_TAILS[span.parent_remote])
        return b"".join(parts)

    def _attribute(self, key: str, value: AttributeValue) -> bytes:
        """`Span.attributes`' field for one attribute (empty when it is dropped)."""
        encoded = self._key_value(key, value)
        return field(0x4A, encoded) if encoded else b""

    def _key_value(self, key: str, value: AttributeValue) -> bytes:
        """A `KeyValue` message; empty for a value OTLP cannot hold (an int past int64, which
        OpenTelemetry's encoder drops too)."""
        prefix = self._keys.get(key)
        if prefix is None:
            prefix = self._keys[key] = field(0x0A, key.encode())
        kind = type(value)
        if kind is str:
            text = value.encode(errors="replace")  # type: ignore[union-attr]
            return prefix + field(0x12, field(0x0A, text))
        if kind is bool:
            return prefix + (_TRUE if value else _FALSE)
        if kind is int:
            encoded = _int64(value)  # type: ignore[arg-type]
            return prefix + encoded if encoded else b""
        if kind is float:
            return prefix + b"\x12\x09" + _DOUBLE.pack(0x21, value)
        return self._key_value(key, _plain(value))


def _int64(number: int) -> bytes:
    """`KeyValue.value` holding an int64 (ten bytes when negative: two's complement); empty
    past int64's range."""
    if number < 0:
        if number < _INT64_MIN:
            return b""
        number += 1 << 64
    elif number > _INT64_MAX:
        return b""
    return field(0x12, b"\x18" + varint(number))


def _plain(value: AttributeValue) -> AttributeValue:
    """A subclass of str, bool, int or float (an enum's member) as its plain value."""
    for kind in (bool, str, int, float):
        if isinstance(value, kind):
            return kind(value)
    raise TypeError(f"an attribute value must be str, bool, int or float, not {type(value)}")


def _status(code: int, message: str | None) -> bytes:
    if not code and not message:
        return _STATUS_UNSET
    body = field(0x12, message.encode(errors="replace")) if message else b""
    if code:
        body += b"\x18" + _BYTE[code]
    return field(0x7A, body)
