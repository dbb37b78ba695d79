"""The emulator's bill as OpenAI's admin Usage and Costs APIs: buckets, groups, filters, pages,
exact money, unknown prices, 400s, and the JSON checked against the OpenAPI spec."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.clock import ManualClock
from laneway.emulator.bill import Bill, BillEntry, dumps
from laneway.pricing.catalog import Catalog
from laneway.usage import Usage
from laneway.wire.errors import ApiError
from tests.openapi import validator

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a day boundary
MINUTE, HOUR, DAY = 60, 3_600, 86_400

Page = dict[str, Any]
SEED_USAGE = Usage(10_000, 2_000)  # gpt-5.2: $0.0175 in + $0.028 out = $0.0455


def q(query: str) -> dict[str, list[str]]:
    return parse_qs(query, keep_blank_values=True)


def entry(
    catalog: Catalog,
    at: float,
    model: str = "gpt-5.2",
    *,
    key: str = "key_a",
    project: str = "proj_a",
    batch: bool = False,
    usage: Usage = SEED_USAGE,
    user: str | None = None,
) -> BillEntry:
    return BillEntry(at, model, key, project, batch, usage, user_id=user)


def results(page: Page) -> list[dict[str, Any]]:
    return [result for bucket in page["data"] for result in bucket["results"]]


def total_requests(page: Page) -> int:
    return sum(r["num_model_requests"] for r in results(page))


def walk(fetch: Callable[[dict[str, list[str]]], Page], query: str) -> Iterator[Page]:
    """Every page of a query, following `next_page`."""
    page = fetch(q(query))
    yield page
    while page["has_more"]:
        page = fetch(q(f"{query}&page={page['next_page']}"))
        yield page


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def usage_response() -> jsonschema.Draft202012Validator:
    """A validator for the spec's `UsageResponse`."""
    return validator("UsageResponse")


@pytest.fixture
def bill(catalog: Catalog) -> Bill:
    """Day 0: minute 0, minute 1 (batch) and hour 1; day 1 empty; day 2 one request."""
    bill = Bill(catalog, clock=ManualClock(T0 + 10 * DAY))
    bill.record(entry(catalog, T0 + 10))
    bill.record(entry(catalog, T0 + 70, key="key_b", batch=True))
    small = Usage(1_000, 500, cached_input_tokens=400, cache_write_tokens=100, reasoning_tokens=200)
    bill.record(entry(catalog, T0 + HOUR + 5, "gpt-5.4-mini", project="proj_b", usage=small))
    bill.record(
        entry(
            catalog,
            T0 + 2 * DAY + 100,
            "gpt-5.4",
            key="key_b",
            project="proj_b",
            usage=Usage(2_000, 1_000),
        )
    )
    return bill


# --- recording --------------------------------------------------------------------------------


def test_requests_of_one_second_share_a_row(catalog: Catalog) -> None:
    # Memory grows with seconds x groups, not with requests.
    bill = Bill(catalog)
    for _ in range(1000):
        bill.record(entry(catalog, T0 + 5.25))
    bill.record(entry(catalog, T0 + 5.75, key="key_b"))
    bill.record(entry(catalog, T0 + 6))
    snapshot = bill.rows()
    assert [(r.at, r.api_key_id, r.requests) for r in snapshot] == [
        (T0 + 5, "key_a", 1000),
        (T0 + 5, "key_b", 1),
        (T0 + 6, "key_a", 1),
    ]
    assert snapshot[0].input == 1000 * SEED_USAGE.input_tokens
    bill.record(entry(catalog, T0 + 5.5))
    assert snapshot[0].requests == 1000  # a snapshot does not move
    assert bill.rows()[0].requests == 1001


def test_out_of_order_recording_gives_the_same_answers(catalog: Catalog) -> None:
    offsets = [0, 59.5, 60, 61, 119, 120, HOUR, HOUR + 1]
    ordered, shuffled = Bill(catalog), Bill(catalog)
    for offset in offsets:
        ordered.record(entry(catalog, T0 + offset))
    for offset in reversed(offsets):
        shuffled.record(entry(catalog, T0 + offset))
    for start, end in [(0, 60), (60, 120), (1, HOUR), (59, HOUR + 1)]:
        query = q(f"start_time={T0 + start}&end_time={T0 + end}&bucket_width=1m&limit=100")
        assert shuffled.completions_usage(query) == ordered.completions_usage(query)
    query = q(f"start_time={T0 + 60}&end_time={T0 + 120}&bucket_width=1m")
    assert total_requests(shuffled.completions_usage(query)) == 3  # 60, 61 and 119


# --- buckets ----------------------------------------------------------------------------------


def test_daily_buckets_are_aligned_and_empty_days_are_kept(bill: Bill) -> None:
    page = bill.completions_usage(q(f"start_time={T0}&end_time={T0 + 3 * DAY}"))
    assert [(b["start_time"], b["end_time"]) for b in page["data"]] == [
        (T0, T0 + DAY),
        (T0 + DAY, T0 + 2 * DAY),
        (T0 + 2 * DAY, T0 + 3 * DAY),
    ]
    assert [[r["num_model_requests"] for r in b["results"]] for b in page["data"]] == [[3], [], [1]]
    assert page["object"] == "page"
    assert page["has_more"] is False
    assert page["next_page"] is None


def test_minute_and_hour_buckets_split_at_their_boundaries(catalog: Catalog) -> None:
    bill = Bill(catalog)
    for at in (T0 + 59.999, T0 + 60, T0 + HOUR - 0.5, T0 + HOUR):
        bill.record(entry(catalog, at))
    minutes = bill.completions_usage(
        q(f"start_time={T0}&end_time={T0 + 2 * MINUTE}&bucket_width=1m")
    )
    assert [total_requests({"data": [b]}) for b in minutes["data"]] == [1, 1]
    hours = bill.completions_usage(q(f"start_time={T0}&end_time={T0 + 2 * HOUR}&bucket_width=1h"))
    assert [b["start_time"] for b in hours["data"]] == [T0, T0 + HOUR]
    assert [total_requests({"data": [b]}) for b in hours["data"]] == [3, 1]


def test_range_is_inclusive_exclusive_while_buckets_stay_aligned(bill: Bill) -> None:
    # Minute 0 holds a request at +10 (before start_time), minute 1 one at +70.
    page = bill.completions_usage(q(f"start_time={T0 + 30}&end_time={T0 + 71}&bucket_width=1m"))
    assert [b["start_time"] for b in page["data"]] == [T0, T0 + MINUTE]
    assert [len(b["results"]) for b in page["data"]] == [0, 1]
    page = bill.completions_usage(q(f"start_time={T0 + 10}&end_time={T0 + 70}&bucket_width=1m"))
    assert [len(b["results"]) for b in page["data"]] == [1, 0]  # end_time is exclusive


def test_open_ended_range_runs_to_the_clock(catalog: Catalog) -> None:
    bill = Bill(catalog, clock=ManualClock(T0 + 2 * DAY + 500))
    bill.record(entry(catalog, T0 + 2 * DAY + 500))
    page = bill.completions_usage(q(f"start_time={T0}"))
    assert [b["start_time"] for b in page["data"]] == [T0, T0 + DAY, T0 + 2 * DAY]
    assert total_requests(page) == 1
    assert page["has_more"] is False
    future = bill.completions_usage(q(f"start_time={T0 + 5 * DAY}"))
    assert future["data"] == []


# --- completions results, grouping and filters ------------------------------------------------


def test_completions_result_counts_tokens_the_spec_way(bill: Bill) -> None:
    page = bill.completions_usage(
        q(f"start_time={T0 + HOUR}&end_time={T0 + 2 * HOUR}&bucket_width=1h")
    )
    [result] = results(page)
    assert result == {
        "object": "organization.usage.completions.result",
        "input_tokens": 1_000,  # cached and cache-write included
        "input_cached_tokens": 400,
        "input_cache_write_tokens": 100,
        "input_uncached_tokens": 500,
        "output_tokens": 500,  # reasoning included
        "input_text_tokens": 500,
        "output_text_tokens": 500,
        "input_cached_text_tokens": 400,
        "input_audio_tokens": 0,
        "input_cached_audio_tokens": 0,
        "output_audio_tokens": 0,
        "input_image_tokens": 0,
        "input_cached_image_tokens": 0,
        "output_image_tokens": 0,
        "num_model_requests": 1,
        "project_id": None,
        "user_id": None,
        "api_key_id": None,
        "model": None,
        "batch": None,
        "service_tier": None,
    }


@pytest.mark.parametrize(
    "spelling", ["group_by=model&group_by=batch", "group_by[]=batch&group_by[]=model"]
)
def test_group_by_fills_only_the_grouped_fields(bill: Bill, spelling: str) -> None:
    page = bill.completions_usage(q(f"start_time={T0}&end_time={T0 + DAY}&{spelling}"))
    rows = [
        (r["model"], r["batch"], r["num_model_requests"], r["input_tokens"], r["project_id"])
        for r in results(page)
    ]
    assert rows == [
        ("gpt-5.2", False, 1, 10_000, None),
        ("gpt-5.2", True, 1, 10_000, None),
        ("gpt-5.4-mini", False, 1, 1_000, None),
    ]


def test_group_by_project_key_and_user(catalog: Catalog, bill: Bill) -> None:
    bill.record(entry(catalog, T0 + 20, user="user_1"))
    groups = "group_by=project_id&group_by=api_key_id&group_by=user_id"
    page = bill.completions_usage(q(f"start_time={T0}&end_time={T0 + DAY}&{groups}"))
    rows = [
        (r["project_id"], r["api_key_id"], r["user_id"], r["num_model_requests"])
        for r in results(page)
    ]
    assert rows == [
        ("proj_a", "key_a", None, 1),  # ordered by the fields in the spec's order
        ("proj_a", "key_b", None, 1),
        ("proj_a", "key_a", "user_1", 1),
        ("proj_b", "key_a", None, 1),
    ]
    assert all(r["model"] is None and r["batch"] is None for r in results(page))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("", 4),
        ("project_ids=proj_a", 2),
        ("project_ids[]=proj_a&project_ids=proj_b", 4),
        ("api_key_ids=key_b", 2),
        ("models=gpt-5.2", 2),
        ("models=gpt-5.2-2025-12-11", 2),  # the snapshot name finds the catalog model
        ("models=gpt-5.4&models=gpt-5.4-mini", 2),
        ("models=gpt-4o", 0),
        ("batch=true", 1),
        ("batch=false", 3),
        ("batch=true&project_ids=proj_b", 0),
        ("user_ids=user_1", 0),
    ],
)
def test_filters(bill: Bill, filters: str, expected: int) -> None:
    page = bill.completions_usage(q(f"start_time={T0}&end_time={T0 + 3 * DAY}&{filters}"))
    assert total_requests(page) == expected
    assert len(page["data"]) == 3  # filters never drop buckets


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "default"), [("1m", 60), ("1h", 24), ("1d", 7)])
def test_default_limits(bill: Bill, width: str, default: int) -> None:
    page = bill.completions_usage(
        q(f"start_time={T0}&end_time={T0 + 400 * DAY}&bucket_width={width}")
    )
    assert len(page["data"]) == default
    assert page["has_more"] is True
    costs = bill.costs(q(f"start_time={T0}&end_time={T0 + 400 * DAY}"))
    assert len(costs["data"]) == 7


@pytest.mark.parametrize(("width", "maximum"), [("1m", 1_440), ("1h", 168), ("1d", 31)])
def test_maximum_limit_is_accepted(bill: Bill, width: str, maximum: int) -> None:
    page = bill.completions_usage(
        q(f"start_time={T0}&end_time={T0 + 400 * DAY}&bucket_width={width}&limit={maximum}")
    )
    assert len(page["data"]) == maximum
    assert len(bill.costs(q(f"start_time={T0}&end_time={T0 + 400 * DAY}&limit=180"))["data"]) == 180


def test_walking_every_page_matches_the_unpaged_answer(catalog: Catalog) -> None:
    bill = Bill(catalog)
    for i in range(90):  # every 7 minutes for 10.5 hours
        bill.record(entry(catalog, T0 + 420 * i, key=f"key_{i % 3}"))
    query = (
        f"start_time={T0 + 100}&end_time={T0 + 10 * HOUR + 1}&bucket_width=1h&group_by=api_key_id"
    )
    whole = bill.completions_usage(q(f"{query}&limit=168"))
    pages = list(walk(bill.completions_usage, f"{query}&limit=3"))
    assert [len(p["data"]) for p in pages] == [3, 3, 3, 2]
    assert [b for p in pages for b in p["data"]] == whole["data"]
    assert all(p["has_more"] and isinstance(p["next_page"], str) for p in pages[:-1])
    assert pages[-1]["has_more"] is False
    assert pages[-1]["next_page"] is None
    # Minute 0 is before start_time and the last bucket only holds the request at 10h.
    assert total_requests(whole) == 90 - 1 - 4


def test_costs_pages_walk_too(catalog: Catalog) -> None:
    bill = Bill(catalog)
    for day in range(10):
        bill.record(entry(catalog, T0 + day * DAY + 1))
    pages = list(walk(bill.costs, f"start_time={T0}&end_time={T0 + 10 * DAY}&limit=4"))
    assert [len(p["data"]) for p in pages] == [4, 4, 2]
    amounts = [r["amount"]["value"] for p in pages for r in results(p)]
    assert sum(amounts) == Decimal("0.455")


# --- costs ------------------------------------------------------------------------------------


def test_costs_are_exact_decimals(catalog: Catalog, bill: Bill) -> None:
    single = Bill(catalog)
    single.record(entry(catalog, T0))
    page = single.costs(q(f"start_time={T0}&end_time={T0 + DAY}"))
    [result] = results(page)
    assert result == {
        "object": "organization.costs.result",
        "amount": {"value": Decimal("0.0455"), "currency": "usd"},
        "line_item": None,
        "project_id": None,
        "api_key_id": None,
        "quantity": None,
        "quantity_unit": None,
    }
    assert b'"amount":{"value":0.0455,"currency":"usd"}' in dumps(page)

    days = bill.costs(q(f"start_time={T0}&end_time={T0 + 3 * DAY}"))
    # 0.0455 + 0.02275 (batch: half) + 0.00273 (gpt-5.4-mini) on day 0; 0.02 (gpt-5.4) on day 2.
    values = [[r["amount"]["value"] for r in b["results"]] for b in days["data"]]
    assert values == [[Decimal("0.07098")], [], [Decimal("0.02")]]


def test_costs_by_line_item_split_each_model_and_kind(bill: Bill) -> None:
    page = bill.costs(q(f"start_time={T0}&end_time={T0 + DAY}&group_by=line_item"))
    lines = [(r["line_item"], r["amount"]["value"], r["quantity"]) for r in results(page)]
    assert lines == [
        ("gpt-5.2, input", Decimal("0.0175"), 10_000),
        ("gpt-5.2, output", Decimal("0.028"), 2_000),
        ("gpt-5.2, batch input", Decimal("0.00875"), 10_000),
        ("gpt-5.2, batch output", Decimal("0.014"), 2_000),
        ("gpt-5.4-mini, input", Decimal("0.00045"), 600),  # the cache write bills as input
        ("gpt-5.4-mini, cached input", Decimal("0.00003"), 400),
        ("gpt-5.4-mini, output", Decimal("0.00225"), 500),
    ]
    assert sum(value for _, value, _ in lines) == Decimal("0.07098")
    assert {r["quantity_unit"] for r in results(page)} == {"tokens"}


def test_costs_group_by_project_and_key_and_filters(bill: Bill) -> None:
    base = f"start_time={T0}&end_time={T0 + 3 * DAY}"
    page = bill.costs(q(f"{base}&group_by=project_id&group_by=api_key_id"))
    rows = [
        (r["project_id"], r["api_key_id"], r["amount"]["value"], r["line_item"])
        for r in results(page)
    ]
    assert rows == [
        ("proj_a", "key_a", Decimal("0.0455"), None),
        ("proj_a", "key_b", Decimal("0.02275"), None),
        ("proj_b", "key_a", Decimal("0.00273"), None),
        ("proj_b", "key_b", Decimal("0.02"), None),
    ]
    only_b = bill.costs(q(f"{base}&project_ids=proj_b&api_key_ids[]=key_b"))
    assert [r["amount"]["value"] for r in results(only_b)] == [Decimal("0.02")]


def test_unknown_prices_are_null_never_zero(catalog: Catalog, bill: Bill) -> None:
    # A model the emulator serves (say, from a catalog override) but has no price for.
    bill.record(entry(catalog, T0 + 30, "house-llm", project="proj_c", usage=Usage(1_000, 100)))
    base = f"start_time={T0}&end_time={T0 + DAY}"
    [total] = results(bill.costs(q(base)))
    assert total["amount"]["value"] is None
    by_project = bill.costs(q(f"{base}&group_by=project_id"))
    assert [(r["project_id"], r["amount"]["value"]) for r in results(by_project)] == [
        ("proj_a", Decimal("0.06825")),
        ("proj_b", Decimal("0.00273")),
        ("proj_c", None),
    ]
    lines = bill.costs(q(f"{base}&group_by=line_item&project_ids=proj_c"))
    assert [(r["line_item"], r["amount"]["value"]) for r in results(lines)] == [
        ("house-llm, input", None),
        ("house-llm, output", None),
    ]
    assert b'"value":null' in dumps(lines)


def test_emulated_prices_are_billed_and_labelled_as_emulated(catalog: Catalog) -> None:
    # No source publishes gpt-5.4-nano's cached or output price; the emulator bills its own
    # stand-in figures ($0.01 and $0.60 per 1M) and its line items say so.
    bill = Bill(catalog)
    usage = Usage(2_000, 100, cached_input_tokens=1_024)
    bill.record(entry(catalog, T0 + 30, "gpt-5.4-nano", usage=usage))
    bill.record(entry(catalog, T0 + 40, "gpt-5.4-nano", batch=True, usage=Usage(1_000, 0)))
    base = f"start_time={T0}&end_time={T0 + DAY}"
    lines = bill.costs(q(f"{base}&group_by=line_item"))
    assert [(r["line_item"], r["amount"]["value"]) for r in results(lines)] == [
        ("gpt-5.4-nano, input", Decimal("0.0000976")),
        ("gpt-5.4-nano, cached input (emulated price)", Decimal("0.00001024")),
        ("gpt-5.4-nano, output (emulated price)", Decimal("0.00006")),
        # The batch discount is published, and so is the input price: no label.
        ("gpt-5.4-nano, batch input", Decimal("0.00005")),
    ]
    [total] = results(bill.costs(q(base)))
    assert total["amount"]["value"] == Decimal("0.00021784")


def test_a_null_amount_is_the_only_departure_from_the_schema(
    catalog: Catalog, usage_response: jsonschema.Draft202012Validator
) -> None:
    # The spec types `amount.value` as a number; an unknown price is null all the same.
    bill = Bill(catalog)
    bill.record(entry(catalog, T0, "house-llm", usage=Usage(1_000, 100)))
    page = json.loads(dumps(bill.costs(q(f"start_time={T0}&limit=1&group_by=line_item"))))
    assert not usage_response.is_valid(page)
    for result in results(page):
        result["amount"]["value"] = result["amount"]["value"] or 0
    usage_response.validate(page)


def test_a_model_missing_from_the_catalog_has_unknown_line_items(catalog: Catalog) -> None:
    bill = Bill(catalog)
    bill.record(BillEntry(T0, "gpt-4o", "key_a", "proj_a", False, Usage(10, 5)))
    page = bill.costs(q(f"start_time={T0}&end_time={T0 + DAY}&group_by=line_item"))
    assert [(r["line_item"], r["amount"]["value"]) for r in results(page)] == [
        ("gpt-4o, input", None),
        ("gpt-4o, output", None),
    ]


# --- the spec's schema ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "query"),
    [
        ("usage", ""),
        ("usage", "&bucket_width=1h&limit=5"),
        ("usage", "&bucket_width=1m&group_by=model&group_by=batch&group_by=project_id"),
        ("usage", "&group_by[]=api_key_id&group_by[]=user_id&group_by[]=service_tier&limit=2"),
        ("costs", ""),
        ("costs", "&group_by=line_item&group_by=project_id"),
        ("costs", "&group_by=api_key_id&limit=1"),
    ],
)
def test_responses_match_the_spec(
    bill: Bill, usage_response: jsonschema.Draft202012Validator, endpoint: str, query: str
) -> None:
    fetch = bill.completions_usage if endpoint == "usage" else bill.costs
    page = json.loads(dumps(fetch(q(f"start_time={T0}&end_time={T0 + 3 * DAY}{query}"))))
    usage_response.validate(page)
    assert results(page)


def test_the_schema_check_can_fail(
    bill: Bill, usage_response: jsonschema.Draft202012Validator
) -> None:
    page = json.loads(dumps(bill.costs(q(f"start_time={T0}&end_time={T0 + DAY}"))))
    page["data"][0]["results"][0]["amount"]["value"] = "0.07"
    assert not usage_response.is_valid(page)
    page = json.loads(dumps(bill.completions_usage(q(f"start_time={T0}&end_time={T0 + DAY}"))))
    del page["data"][0]["results"][0]["num_model_requests"]
    assert not usage_response.is_valid(page)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "query", "param", "code", "message"),
    [
        (
            "usage",
            "",
            "start_time",
            "missing_required_parameter",
            "Missing required parameter: 'start_time'.",
        ),
        ("costs", "end_time=5", "start_time", "missing_required_parameter", None),
        (
            "usage",
            "start_time=abc",
            "start_time",
            "invalid_type",
            "Invalid type for 'start_time': expected an integer, but got 'abc' instead.",
        ),
        ("usage", "start_time=1.5", "start_time", "invalid_type", None),
        ("usage", "start_time=", "start_time", "invalid_type", None),
        ("usage", "start_time=1_000", "start_time", "invalid_type", None),
        ("usage", "start_time=-1", "start_time", "integer_below_min_value", None),
        ("usage", f"start_time={T0}&end_time=x", "end_time", "invalid_type", None),
        ("usage", f"start_time={T0}&end_time={T0}", "end_time", "invalid_value", None),
        (
            "usage",
            f"start_time={T0}&bucket_width=2h",
            "bucket_width",
            "invalid_value",
            "Invalid value: '2h'. Supported values are: '1m', '1h', and '1d'.",
        ),
        (
            "costs",
            f"start_time={T0}&bucket_width=1h",
            "bucket_width",
            "invalid_value",
            "Invalid value: '1h'. Supported values are: '1d'.",
        ),
        (
            "usage",
            f"start_time={T0}&limit=0",
            "limit",
            "integer_below_min_value",
            "Invalid 'limit': integer below minimum value. "
            "Expected a value >= 1, but got 0 instead.",
        ),
        (
            "usage",
            f"start_time={T0}&limit=32",
            "limit",
            "integer_above_max_value",
            "Invalid 'limit': integer above maximum value. "
            "Expected a value <= 31, but got 32 instead.",
        ),
        (
            "usage",
            f"start_time={T0}&bucket_width=1h&limit=169",
            "limit",
            "integer_above_max_value",
            None,
        ),
        (
            "usage",
            f"start_time={T0}&bucket_width=1m&limit=1441",
            "limit",
            "integer_above_max_value",
            None,
        ),
        ("costs", f"start_time={T0}&limit=181", "limit", "integer_above_max_value", None),
        ("costs", f"start_time={T0}&limit=seven", "limit", "invalid_type", None),
        (
            "usage",
            f"start_time={T0}&group_by=model&group_by=line_item",
            "group_by",
            "invalid_value",
            "Invalid value: 'line_item'. Supported values are: 'project_id', 'user_id', "
            "'api_key_id', 'model', 'batch', and 'service_tier'.",
        ),
        ("costs", f"start_time={T0}&group_by[]=model", "group_by", "invalid_value", None),
        ("usage", f"start_time={T0}&batch=maybe", "batch", "invalid_type", None),
        ("usage", f"start_time={T0}&page=garbage", "page", "invalid_value", None),
        ("usage", f"start_time={T0}&page=page_!!!", "page", "invalid_value", None),
        ("costs", f"start_time={T0}&page=", "page", "invalid_value", None),
    ],
)
def test_bad_parameters_are_400s(
    bill: Bill, endpoint: str, query: str, param: str, code: str, message: str | None
) -> None:
    fetch = bill.completions_usage if endpoint == "usage" else bill.costs
    with pytest.raises(ApiError) as caught:
        fetch(q(query))
    error = caught.value
    assert (error.status, error.param, error.code, error.type) == (
        400,
        param,
        code,
        "invalid_request_error",
    )
    if message is not None:
        assert error.message == message


def test_a_cursor_only_works_for_the_query_that_made_it(bill: Bill) -> None:
    query = f"start_time={T0}&end_time={T0 + 10 * DAY}&limit=2"
    usage_cursor = bill.completions_usage(q(query))["next_page"]
    costs_cursor = bill.costs(q(query))["next_page"]
    hourly_cursor = bill.completions_usage(q(f"{query}&bucket_width=1h"))["next_page"]
    second = bill.completions_usage(q(f"{query}&page={usage_cursor}"))
    assert second["data"][0]["start_time"] == T0 + 2 * DAY
    misused = [
        (bill.completions_usage, query, costs_cursor),  # another endpoint's
        (bill.costs, query, usage_cursor),
        (bill.completions_usage, f"{query}&bucket_width=1h", usage_cursor),  # another width's
        (bill.completions_usage, query, hourly_cursor),
        (bill.completions_usage, f"start_time={T0}&end_time={T0 + DAY}", usage_cursor),  # past end
        (bill.completions_usage, f"start_time={T0 + 3 * DAY}", usage_cursor),  # before start
    ]
    for fetch, misused_query, cursor in misused:
        with pytest.raises(ApiError) as caught:
            fetch(q(f"{misused_query}&page={cursor}"))
        assert (caught.value.status, caught.value.param) == (400, "page")


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.0455"), b"0.0455"),
        (Decimal("0.04550"), b"0.0455"),
        (Decimal("1E-7"), b"0.0000001"),
        (Decimal("2.50"), b"2.5"),
        (Decimal("100"), b"100"),
        (Decimal("1E+3"), b"1000"),
        (Decimal("-0.00"), b"0"),
        (
            Decimal("0.123456789012345678901234567890123456789"),
            b"0.123456789012345678901234567890123456789",
        ),
    ],
)
def test_dumps_writes_decimals_exactly(value: Decimal, text: bytes) -> None:
    encoded = dumps({"value": value})
    assert encoded == b'{"value":' + text + b"}"
    assert json.loads(encoded, parse_float=Decimal)["value"] == value


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), object()])
def test_dumps_refuses_what_json_cannot_hold(value: object) -> None:
    with pytest.raises(TypeError):
        dumps({"value": value})


# --- properties -------------------------------------------------------------------------------

_EMPTY = Catalog([])


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(
        st.integers(0, 3 * HOUR).map(float) | st.floats(min_value=0, max_value=3 * HOUR),
        max_size=40,
    ),
    start=st.integers(0, 3 * HOUR - 1),
    span=st.integers(1, 3 * HOUR),
    limit=st.integers(1, 60),
    in_order=st.booleans(),
)
def test_paged_totals_equal_a_direct_count(
    times: list[float], start: int, span: int, limit: int, in_order: bool
) -> None:
    bill = Bill(_EMPTY)
    recorded = []
    for i, offset in enumerate(sorted(times) if in_order else times):
        recorded.append(BillEntry(T0 + offset, "m", "k", "p", i % 2 == 0, Usage(i + 1, 1)))
        bill.record(recorded[-1])
    lo, hi = T0 + start, T0 + start + span
    query = f"start_time={lo}&end_time={hi}&bucket_width=1m&limit={limit}"
    pages = list(walk(bill.completions_usage, query))
    buckets = [b for p in pages for b in p["data"]]
    inside = [e for e in recorded if lo <= e.at < hi]
    assert total_requests({"data": buckets}) == len(inside)
    assert sum(r["input_tokens"] for r in results({"data": buckets})) == sum(
        e.usage.input_tokens for e in inside
    )
    starts = [b["start_time"] for b in buckets]
    assert starts == list(range(lo - lo % MINUTE, hi, MINUTE))
    for bucket in buckets:
        for result in bucket["results"]:
            assert result["num_model_requests"] == sum(
                1 for e in inside if bucket["start_time"] <= e.at < bucket["end_time"]
            )
