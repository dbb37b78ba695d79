"""What the emulator does at the HTTP level: auth, bad input, limits, faults, caching, its bill."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx2 as httpx
import openai
import pytest
from openai import OpenAI

from laneway.emulator.config import EmulatorConfig, FaultRule, Latency
from laneway.emulator.server import EmulatorServer
from tests.emulator.conftest import RESTRICTED_KEY
from tests.sdk import sdk

AUTH = {"Authorization": "Bearer sk-test"}


@pytest.fixture
def http(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, headers=AUTH, timeout=10) as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "Traceback" not in response.text
    return body["error"]  # type: ignore[no-any-return]


# -- authentication and key restrictions -----------------------------------------------------


def test_missing_key_is_401(emulator: EmulatorServer) -> None:
    response = httpx.get(emulator.base_url + "/models")
    assert response.status_code == 401
    assert "You didn't provide an API key" in str(error_of(response)["message"])


def test_wrong_key_is_401_and_never_echoed(emulator: EmulatorServer) -> None:
    secret = "not-a-key-0123456789abcdef"  # noqa: S105 - a wrong key, on purpose
    with (
        sdk(emulator.base_url, api_key=secret) as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.models.list()
    assert info.value.code == "invalid_api_key"
    assert secret not in info.value.message
    assert "cdef" in info.value.message  # enough to recognise, never the whole secret


def test_restricted_key_gets_model_not_found_for_other_models(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url, api_key=RESTRICTED_KEY) as client:
        assert client.responses.create(model="gpt-5.4-mini", input="hi").status == "completed"
        with pytest.raises(openai.NotFoundError) as info:
            client.responses.create(model="gpt-5.2", input="hi")
        assert info.value.code == "model_not_found"
        assert [m.id for m in client.models.list()] == ["gpt-5.4-mini"]


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        (b"{not json", 400, None, None),
        (b"[1, 2]", 400, None, None),
        (b'{"input": "x"}', 400, "model", "missing_required_parameter"),
        (b'{"model": "gpt-5.4"}', 400, "input", "missing_required_parameter"),
        (b'{"model": 5, "input": "x"}', 400, "model", "invalid_type"),
        (b'{"model": "gpt-5.4", "input": 5}', 400, "input", "invalid_type"),
        (
            b'{"model": "gpt-5.4", "input": "x", "max_output_tokens": "10"}',
            400,
            "max_output_tokens",
            "invalid_type",
        ),
        (
            b'{"model": "gpt-5.4", "input": "x", "max_output_tokens": 4}',
            400,
            "max_output_tokens",
            "integer_below_min_value",
        ),
        (
            b'{"model": "gpt-5.4", "input": "x", "temperature": 9}',
            400,
            "temperature",
            "invalid_value",
        ),
        (
            b'{"model": "gpt-5.4", "input": "x", "frobnicate": 1}',
            400,
            "frobnicate",
            "unknown_parameter",
        ),
        (
            b'{"model": "gpt-5.4", "input": "x", "service_tier": "gold"}',
            400,
            "service_tier",
            "invalid_value",
        ),
        (
            b'{"model": "gpt-5.4", "input": [{"role": "user"}]}',
            400,
            "input[0].content",
            "missing_required_parameter",
        ),
        (
            b'{"model": "gpt-5.4", "input": "x", '
            b'"text": {"format": {"type": "json_schema", "name": "x"}}}',
            400,
            "text.format.schema",
            "missing_required_parameter",
        ),
        (b'{"model": "gpt-9", "input": "x"}', 404, None, "model_not_found"),
    ],
)
def test_bad_bodies_get_openai_errors(
    http: httpx.Client, body: bytes, status: int, param: str | None, code: str | None
) -> None:
    response = http.post("/responses", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    error = error_of(response)
    assert error["param"] == param
    assert error["code"] == code
    assert error["type"] == "invalid_request_error"
    assert response.headers["x-request-id"].startswith("req_")


def test_metadata_limits(http: httpx.Client) -> None:
    too_many = {f"k{i}": "v" for i in range(17)}
    response = http.post(
        "/responses", json={"model": "gpt-5.4", "input": "x", "metadata": too_many}
    )
    assert response.status_code == 400
    assert "at most 16" in str(error_of(response)["message"])


def test_oversize_body_is_413() -> None:
    small = EmulatorConfig(speed=0, tier="none", max_body_bytes=1000)
    with (
        EmulatorServer(small) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH) as http,
    ):
        response = http.post("/responses", json={"model": "gpt-5.4", "input": "x" * 2000})
        assert response.status_code == 413
        assert error_of(response)["code"] == "request_too_large"
        assert http.post("/responses", json={"model": "gpt-5.4", "input": "ok"}).status_code == 200


def test_unknown_routes(http: httpx.Client) -> None:
    for method, path in (("GET", "/nope"), ("POST", "/models"), ("DELETE", "/responses")):
        response = http.request(method, path)
        assert response.status_code == 404
        assert str(error_of(response)["message"]).startswith("Invalid URL")


def test_the_server_keeps_serving_after_abuse(http: httpx.Client) -> None:
    for body in (b"\xff\xfe", b"{" * 10_000, b'{"model": {"deep": [1, {"x": null}]}}', b""):
        assert http.post("/responses", content=body).status_code == 400
    assert (
        http.post("/responses", json={"model": "gpt-5.4", "input": "still there?"}).status_code
        == 200
    )


def test_lone_surrogates_are_refused_cleanly(http: httpx.Client) -> None:
    # "\ud800" alone names no character and cannot become UTF-8: refused as unparseable JSON.
    response = http.post("/responses", content=b'{"model": "gpt-5.4", "input": "bad \\ud800 text"}')
    assert response.status_code == 400
    assert "could not parse the JSON body" in str(error_of(response)["message"])


# -- rate limits ------------------------------------------------------------------------------


def test_rate_limit_headers_and_429(emulator: EmulatorServer) -> None:
    # gpt-5.4-nano is limited to 3 RPM in this emulator's config; each test module gets its own.
    with sdk(emulator.base_url) as client:
        raw = client.responses.with_raw_response.create(model="gpt-5.4-nano", input="one")
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-remaining-requests"] == "2"
        assert raw.headers["x-ratelimit-limit-tokens"] == "1000000"
        client.responses.create(model="gpt-5.4-nano", input="two")
        client.responses.create(model="gpt-5.4-nano", input="three")
        with pytest.raises(openai.RateLimitError) as info:
            client.responses.create(model="gpt-5.4-nano", input="four")
    error = info.value
    assert error.code == "rate_limit_exceeded"
    assert error.type == "requests"
    assert "Limit 3, Used 3, Requested 1" in error.message
    headers = error.response.headers
    assert int(headers["retry-after"]) >= 1
    assert 0 < int(headers["retry-after-ms"]) <= 20_000
    assert headers["x-ratelimit-remaining-requests"] == "0"


# -- faults ------------------------------------------------------------------------------------


def test_injected_statuses(client: OpenAI) -> None:
    cases = {
        "status=503": openai.InternalServerError,
        "status=500": openai.InternalServerError,
        "status=429": openai.RateLimitError,
    }
    for header, error in cases.items():
        with pytest.raises(error) as info:
            client.responses.create(
                model="gpt-5.4", input="x", extra_headers={"x-emulator-fault": header}
            )
        assert info.value.status_code == int(header.split("=")[1])


def test_bad_fault_header(http: httpx.Client) -> None:
    response = http.post(
        "/responses",
        json={"model": "gpt-5.4", "input": "x"},
        headers={"x-emulator-fault": "explode"},
    )
    assert response.status_code == 400
    assert error_of(response)["param"] == "x-emulator-fault"


def test_cut_stream(client: OpenAI) -> None:
    stream = client.responses.create(
        model="gpt-5.4", input="x", stream=True, extra_headers={"x-emulator-fault": "cut=3"}
    )
    received: list[str] = []

    def consume() -> None:
        received.extend(event.type for event in stream)

    with pytest.raises((openai.APIError, httpx.HTTPError)):
        consume()
    assert received == ["response.created", "response.in_progress", "response.output_item.added"]


def test_hang_until_the_client_times_out(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            client.responses.create(
                model="gpt-5.4", input="x", extra_headers={"x-emulator-fault": "hang"}
            )
        assert 0.4 < time.monotonic() - started < 5


def test_slow_first_byte(client: OpenAI) -> None:
    started = time.monotonic()
    client.responses.create(
        model="gpt-5.4", input="x", extra_headers={"x-emulator-fault": "slow_first_byte=0.3"}
    )
    assert time.monotonic() - started >= 0.3


def test_configured_fault_share_is_deterministic_under_the_seed() -> None:
    def pattern(seed: int) -> list[int]:
        config = EmulatorConfig(
            seed=seed,
            speed=0,
            tier="none",
            faults=(FaultRule(kind="status", status=503, share=0.3),),
        )
        with (
            EmulatorServer(config) as server,
            httpx.Client(base_url=server.base_url, headers=AUTH) as http,
        ):
            return [
                http.post("/responses", json={"model": "gpt-5.4", "input": "x"}).status_code
                for _ in range(40)
            ]

    first, again, other = pattern(1), pattern(1), pattern(2)
    assert first == again
    assert first != other
    assert 4 <= first.count(503) <= 24  # about 30% of 40


# -- prompt caching -------------------------------------------------------------------------


def test_long_prompts_hit_the_cache_in_128_token_steps(client: OpenAI) -> None:
    shared = " ".join(f"clause {i} of the master agreement" for i in range(400))
    first = client.responses.create(model="gpt-5.4", input=shared + " Question one?")
    second = client.responses.create(model="gpt-5.4", input=shared + " Question two?")
    assert first.usage is not None
    assert second.usage is not None
    assert first.usage.input_tokens_details.cached_tokens == 0
    cached = second.usage.input_tokens_details.cached_tokens
    assert cached >= 1024
    assert (cached - 1024) % 128 == 0
    assert cached <= second.usage.input_tokens
    # Another cache key is another cache.
    keyed = client.responses.create(
        model="gpt-5.4", input=shared + " Question three?", prompt_cache_key="tenant-b"
    )
    assert keyed.usage is not None
    assert keyed.usage.input_tokens_details.cached_tokens == 0


# -- the bill ----------------------------------------------------------------------------------


def test_usage_endpoint_reconciles_with_what_clients_received() -> None:
    config = EmulatorConfig(seed=3, speed=0, tier="none")
    with EmulatorServer(config) as server, sdk(server.base_url) as client:
        start = int(time.time()) - 60
        received = {"input": 0, "cached": 0, "output": 0, "requests": 0}
        shared = " ".join(f"term {i} applies" for i in range(500))
        for i in range(30):
            model = ("gpt-5.2", "gpt-5.4", "gpt-5.4-mini")[i % 3]
            if i % 2:
                response = client.responses.create(
                    model=model, input=f"{shared} item {i}", reasoning={"effort": "low"}
                )
                assert response.usage is not None
                usage = (
                    response.usage.input_tokens,
                    response.usage.input_tokens_details.cached_tokens,
                    response.usage.output_tokens,
                )
            else:
                completion = client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": f"item {i}"}]
                )
                assert completion.usage is not None
                usage = (completion.usage.prompt_tokens, 0, completion.usage.completion_tokens)
            for name, value in zip(("input", "cached", "output"), usage, strict=True):
                received[name] += value
            received["requests"] += 1
        assert received["cached"] > 0

        bill = httpx.get(
            server.base_url + "/organization/usage/completions",
            params={"start_time": start, "bucket_width": "1d"},
            headers=AUTH,
        ).json()
        results = [r for bucket in bill["data"] for r in bucket["results"]]
        assert sum(r["input_tokens"] for r in results) == received["input"]
        assert sum(r["input_cached_tokens"] for r in results) == received["cached"]
        assert sum(r["output_tokens"] for r in results) == received["output"]
        assert sum(r["num_model_requests"] for r in results) == received["requests"]

        costs = httpx.get(
            server.base_url + "/organization/costs", params={"start_time": start}, headers=AUTH
        )
        amounts = [
            r["amount"]["value"]
            for bucket in json.loads(costs.text, parse_float=Decimal)["data"]
            for r in bucket["results"]
        ]
        assert sum(amounts) > 0
        assert all(isinstance(a, Decimal) for a in amounts)


# -- latency and tier limits from the catalog ------------------------------------------------


def test_latency_is_modelled_and_scaled_by_speed() -> None:
    slow = {"gpt-5.4": Latency(ttft_s=0.2, tokens_per_s=1_000_000)}

    def elapsed(speed: float) -> float:
        config = EmulatorConfig(speed=speed, tier="none", latency=slow)
        with EmulatorServer(config) as server, sdk(server.base_url) as client:
            started = time.monotonic()
            client.responses.create(model="gpt-5.4", input="time me")
            return time.monotonic() - started

    assert elapsed(1) >= 0.2
    assert elapsed(0) < 0.2


def test_stream_events_are_paced_at_the_model_rate() -> None:
    # ~100 tokens at 500 tokens/s: the events spread over ~0.2 s after the first byte.
    pace = {"gpt-5.4": Latency(ttft_s=0.0, tokens_per_s=500)}
    config = EmulatorConfig(speed=1, tier="none", latency=pace)
    with EmulatorServer(config) as server, sdk(server.base_url) as client:
        arrivals = []
        started = time.monotonic()
        for _ in client.responses.create(model="gpt-5.4", input="stream", stream=True):
            arrivals.append(time.monotonic() - started)
    assert arrivals[-1] - arrivals[0] >= 0.03
    assert arrivals[-1] < 5


def test_the_tier_sets_the_published_limits() -> None:
    with (
        EmulatorServer(EmulatorConfig(speed=0, tier="tier-1")) as server,
        sdk(server.base_url) as client,
    ):
        raw = client.responses.with_raw_response.create(model="gpt-5.2", input="hi")
        assert raw.headers["x-ratelimit-limit-requests"] == "500"
        assert raw.headers["x-ratelimit-limit-tokens"] == "500000"
        assert raw.headers["x-ratelimit-remaining-requests"] == "499"
        # gpt-5.4 publishes no tier-1 limits in the catalog: nothing enforced, no headers.
        other = client.responses.with_raw_response.create(model="gpt-5.4", input="hi")
        assert "x-ratelimit-limit-requests" not in other.headers
