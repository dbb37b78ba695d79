"""W3C `traceparent`, version 00 read strictly; anything malformed is no parent at all."""

from __future__ import annotations

import pytest

from laneway.telemetry.trace_context import Parent, parse_traceparent, trace_id_hex, traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_a_version_00_header_names_the_callers_span() -> None:
    parent = parse_traceparent(f"00-{TRACE}-{SPAN}-01".encode())
    assert parent == Parent(int(TRACE, 16), int(SPAN, 16), sampled=True)
    assert parse_traceparent(f"00-{TRACE}-{SPAN}-00".encode()) == Parent(
        int(TRACE, 16), int(SPAN, 16), sampled=False
    )
    # Only the sampled bit is read of the flags; surrounding blanks are no part of the value.
    flagged = parse_traceparent(f" 00-{TRACE}-{SPAN}-03\t".encode())
    assert flagged is not None
    assert flagged.sampled


def test_a_later_version_is_read_for_its_first_four_fields() -> None:
    parent = parse_traceparent(f"01-{TRACE}-{SPAN}-01-what-comes-next".encode())
    assert parent == Parent(int(TRACE, 16), int(SPAN, 16), sampled=True)


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        f"00-{'0' * 32}-{SPAN}-01".encode(),
        f"00-{TRACE}-{'0' * 16}-01".encode(),
        f"00-{TRACE.upper()}-{SPAN}-01".encode(),
        f"ff-{TRACE}-{SPAN}-01".encode(),
        f"00-{TRACE}-{SPAN}-01-more".encode(),
        f"00-{TRACE[:-1]}-{SPAN}-01".encode(),
        f"00-{TRACE}-{SPAN}-1".encode(),
        f"00_{TRACE}_{SPAN}_01".encode(),
        f"0-{TRACE}-{SPAN}-01".encode(),
        f"00-{TRACE}g-{SPAN}-01".encode(),
        b"\xff\xfe",
    ],
)
def test_anything_else_is_ignored(value: bytes | None) -> None:
    assert parse_traceparent(value) is None


def test_ids_are_written_as_the_header_writes_them() -> None:
    assert trace_id_hex(0xABC) == "0" * 29 + "abc"
    written = traceparent(int(TRACE, 16), int(SPAN, 16), True)
    assert written == f"00-{TRACE}-{SPAN}-01"
    assert parse_traceparent(written.encode()) == Parent(int(TRACE, 16), int(SPAN, 16), True)
