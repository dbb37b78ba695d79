"""The output cap laneway sets under a budget: the effort table, and the splice that puts it into
the client's bytes without serialising the rest again."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.routing.output_cap import EFFORT_SCALE, output_cap
from laneway.wire.request import insert_field, read_request

# -- the table ----------------------------------------------------------------------------------


def test_the_effort_table_covers_every_effort_and_grows_with_it() -> None:
    assert set(EFFORT_SCALE) == set(REASONING_EFFORTS)
    scales = [EFFORT_SCALE[effort] for effort in REASONING_EFFORTS]
    assert scales == sorted(scales)


@pytest.mark.parametrize(
    ("efforts", "limits", "cap"),
    [
        (["none"], [128_000], 1024),
        (["minimal"], [128_000], 1024),
        (["low"], [128_000], 2048),
        (["medium"], [128_000], 4096),
        ([None], [128_000], 4096),  # the model's default: as medium
        (["high"], [128_000], 8192),
        (["xhigh"], [128_000], 16384),
        (["bogus"], [128_000], 4096),
        (["none", "high"], [128_000, 128_000], 8192),  # the highest effort it may be sent at
        (["xhigh"], [128_000, 5_000], 5_000),  # never above a candidate's max output
        (["xhigh"], [None], 16384),  # an unknown max output does not bound it
    ],
)
def test_the_cap(efforts: list[str | None], limits: list[int | None], cap: int) -> None:
    assert output_cap(1024, efforts, limits) == cap


# -- the splice ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "spliced"),
    [
        (b"{}", b'{"max_output_tokens":64}'),
        (b"  {  }  ", b'  {"max_output_tokens":64  }  '),
        (b'{"model":"m"}', b'{"max_output_tokens":64,"model":"m"}'),
        (b'\n\t{ "model" : "m" }\r\n', b'\n\t{"max_output_tokens":64, "model" : "m" }\r\n'),
    ],
)
def test_insert_field_puts_one_member_first(raw: bytes, spliced: bytes) -> None:
    assert insert_field(raw, "max_output_tokens", 64) == spliced
    assert orjson.loads(spliced) == {**orjson.loads(raw), "max_output_tokens": 64}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@given(
    members=st.dictionaries(
        st.text(max_size=10).filter(lambda k: k not in ("max_output_tokens", "max_tokens")),
        JSON_VALUES,
        max_size=6,
    ),
    indent=st.sampled_from([None, 1, 2, "\t"]),
    cap=st.integers(16, 128_000),
)
def test_the_rest_of_the_body_is_byte_identical(
    members: dict[str, Any], indent: int | str | None, cap: int
) -> None:
    raw = json.dumps({"model": "gpt-5.4-mini", **members}, indent=indent).encode()
    request = read_request("responses", raw)
    body = request.upstream_body("gpt-5.4-mini", None, cap)
    member = b'"max_output_tokens":%d,' % cap
    at = raw.index(b"{") + 1
    assert body[at : at + len(member)] == member
    assert body[:at] + body[at + len(member) :] == raw  # every other byte as the client's
    assert orjson.loads(body) == {**orjson.loads(raw), "max_output_tokens": cap}


def test_chat_gets_max_completion_tokens() -> None:
    raw = b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'
    body = read_request("chat", raw).upstream_body("m", None, 200)
    assert body == b'{"max_completion_tokens":200,' + raw[1:]


@pytest.mark.parametrize(
    ("endpoint", "fields", "expected"),
    [
        # A field present as null is replaced, never given twice.
        ("responses", {"max_output_tokens": None}, {"max_output_tokens": 64}),
        ("chat", {"max_completion_tokens": None}, {"max_completion_tokens": 64}),
        ("chat", {"max_tokens": None}, {"max_completion_tokens": 64}),
    ],
)
def test_a_null_field_is_replaced(
    endpoint: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    raw = orjson.dumps({"model": "m", **fields})
    body = read_request(endpoint, raw).upstream_body("m", None, 64)  # type: ignore[arg-type]
    assert body.count(b"max_") == 1
    assert orjson.loads(body) == {"model": "m", **expected}


def test_with_another_change_the_cap_rides_the_serialised_body() -> None:
    raw = b'{"model":"gpt-5.4","input":"hi"}'
    body = read_request("responses", raw).upstream_body("gpt-5.4-mini", "low", 2048)
    assert orjson.loads(body) == {
        "model": "gpt-5.4-mini",
        "input": "hi",
        "reasoning": {"effort": "low"},
        "max_output_tokens": 2048,
    }


def test_without_a_cap_the_clients_bytes_go_as_they_are() -> None:
    raw = b' {"model":"m", "input":"hi"} '
    assert read_request("responses", raw).upstream_body("m") is raw


def test_a_responses_body_keeps_a_stray_max_tokens_as_the_client_sent_it() -> None:
    raw = b'{"model":"m","input":"hi","max_tokens":null}'  # not a Responses field: upstream's call
    body = read_request("responses", raw).upstream_body("m", None, 64)
    assert body == b'{"max_output_tokens":64,' + raw[1:]
