"""A body nested past `MAX_DEPTH` is refused with OpenAI's 400 and recorded as a refusal, on
every path (a lane's re-serialised body, a Chat stream, a body forwarded as it came); one at the
limit goes through."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from laneway.wire.depth import MAX_DEPTH, check_depth
from laneway.wire.errors import ApiError
from tests.gateway.conftest import Running


def nested(levels: int) -> str:
    """A JSON value of exactly `levels` levels of objects."""
    return '{"a":' * levels + "1" + "}" * levels


def post(gateway: Running, body: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.base_url}/chat/completions",
        content=body.encode(),
        headers={"authorization": "Bearer x", "content-type": "application/json"},
    )


@pytest.mark.parametrize(
    ("model", "stream", "levels"),
    [
        ("lane:coding", True, 300),  # re-serialised: orjson writes only ~254 levels
        ("auto", False, 300),
        ("gpt-5.4-mini", False, 300),  # forwarded as it came: refused all the same
        ("gpt-5.4-mini", True, MAX_DEPTH),  # the body's own level makes it one too deep
    ],
)
def test_a_body_nested_too_deep_is_a_recorded_400(
    gateway: Running, model: str, stream: bool, levels: int
) -> None:
    body = (
        f'{{"model":"{model}","stream":{str(stream).lower()},'
        f'"messages":[{{"role":"user","content":"hi"}}],"metadata":{nested(levels)}}}'
    )
    answer = post(gateway, body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "json_too_deep"
    assert error["type"] == "invalid_request_error"
    assert "Traceback" not in answer.text
    record = gateway.record(answer.headers["x-laneway-request-id"])
    assert record.status == "refused"
    assert record.http_status == 400


def test_a_body_at_the_limit_goes_through(gateway: Running) -> None:
    # Tools' parameters nested to the limit (the body and tools list and tool and function and
    # parameters take five levels): read, routed, re-serialised for a stream and answered.
    schema = nested(MAX_DEPTH - 5)
    body = (
        '{"model":"lane:coding","stream":true,"messages":[{"role":"user","content":"hi"}],'
        '"tools":[{"type":"function","function":{"name":"f","parameters":' + schema + "}}]}"
    )
    answer = post(gateway, body)
    assert answer.status_code == 200, answer.text


def test_the_check_counts_levels_exactly() -> None:
    for levels in (0, 1, MAX_DEPTH):
        check_depth(nested(levels).encode(), _parsed(levels))
    with pytest.raises(ApiError):
        check_depth(nested(MAX_DEPTH + 1).encode(), _parsed(MAX_DEPTH + 1))
    # Brackets inside strings do not count: many of them, but a shallow body.
    text = "[" * (MAX_DEPTH * 2)
    check_depth(f'{{"a":"{text}"}}'.encode(), {"a": text})


def _parsed(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value
