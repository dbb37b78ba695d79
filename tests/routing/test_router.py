"""routing.plan on the shipped lanes and on small configured ones: the seeds' routing table,
constraints, efforts, split arms, breakers and headroom, and the explanation of each choice."""

from __future__ import annotations

import math
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import orjson
import pytest

from laneway.clock import ManualClock
from laneway.config import GatewayConfig
from laneway.pricing.catalog import Catalog
from laneway.pricing.money import usd_str
from laneway.routing.affinity import Affinity
from laneway.routing.explain import Route, expand, pico_usd
from laneway.routing.lanes import LaneTable, Warn, build_lanes
from laneway.routing.observations import Observations
from laneway.routing.router import Plan, Router
from laneway.upstream.breaker import Breakers, BreakerSettings
from laneway.upstream.headroom import Headroom
from laneway.upstream.health import Health
from laneway.upstream.providers import Provider
from laneway.upstream.retry import RetryBudget
from laneway.upstream.transport import NoTransport
from laneway.wire.errors import ApiError
from laneway.wire.request import Endpoint, read_request

CATALOG = Catalog.load()


def provider(name: str, models: frozenset[str] = frozenset()) -> Provider:
    clock = ManualClock()
    return Provider(
        name=name,
        kind="openai-compatible",
        base_url=f"http://{name}.invalid/v1",
        models=models,
        tier="tier-1",
        transport=NoTransport(),
        retry_budget=RetryBudget(clock),
        headers={},
    )


def table_of(config: GatewayConfig, providers: list[Provider], warn: Warn) -> LaneTable:
    """The lane table a config makes over these providers, as the assembly builds it."""
    return build_lanes(
        config.lanes,
        config.auto if "auto" in config.model_fields_set else None,
        providers,
        CATALOG,
        timeouts=config.timeouts,
        shipped_lanes=config.routing.shipped_lanes,
        warn=warn,
    )


class Setup:
    def __init__(self, raw: dict[str, Any] | None = None, *providers: Provider) -> None:
        self.clock = ManualClock()
        self.providers = list(providers) or [provider("openai")]
        config = GatewayConfig.model_validate(raw or {})
        self.warnings: list[str] = []
        table = table_of(config, self.providers, self.warnings.append)
        self.breakers = Breakers(self.clock, BreakerSettings(consecutive_failures=2, open_s=30))
        self.headroom = Headroom(self.clock)
        self.observations = Observations()
        self.affinity = Affinity()
        self.router = Router(
            table,
            self.providers,
            CATALOG,
            health=Health(self.breakers, self.headroom),
            observations=self.observations,
            affinity=self.affinity,
            fallbacks={model: r.fallbacks for model, r in config.models.items()},
            timeouts=config.timeouts,
            rng=random.Random(7),
        )

    def plan(
        self,
        body: dict[str, Any],
        endpoint: Endpoint = "responses",
        **kwargs: Any,
    ) -> Plan:
        return self.router.plan(read_request(endpoint, orjson.dumps(body)), **kwargs)


def order(plan: Plan) -> list[str]:
    return [c.label for c in plan.candidates]


def skipped(plan: Plan) -> dict[str, str]:
    return {c.label: c.reason for c in plan.route.considered if not c.kept}


@pytest.fixture
def shipped() -> Setup:
    return Setup()


# -- the seeds' routing table --------------------------------------------------------------------


def test_a_short_extraction_goes_to_the_cheapest_model(shipped: Setup) -> None:
    plan = shipped.plan({"model": "lane:extraction", "input": "Extract the date: 3 May 2026"})
    assert order(plan) == ["gpt-5.4-nano@openai", "gpt-5.4-mini@openai", "gpt-5.4@openai"]
    assert plan.lane is not None
    assert plan.lane.name == "extraction"
    assert [c.effort for c in plan.candidates] == ["none", "none", "none"]


def test_cheapest_ranks_by_expected_cost_and_an_unknown_cost_last() -> None:
    candidates = ["gpt-5.4-nano", "gpt-5.4", "gpt-5.4-mini"]
    setup = Setup({"lanes": {"c": {"policy": "cheapest", "candidates": candidates}}})
    plan = setup.plan({"model": "lane:c", "input": "Extract the date: 3 May 2026"})
    # nano's output price is unknown in the catalog: it cannot be priced, so it goes last.
    assert order(plan) == ["gpt-5.4-mini@openai", "gpt-5.4@openai", "gpt-5.4-nano@openai"]
    costs = {c.label: c.expected_usd for c in plan.route.considered}
    mini, big = costs["gpt-5.4-mini@openai"], costs["gpt-5.4@openai"]
    assert mini is not None
    assert big is not None
    assert mini < big
    assert costs["gpt-5.4-nano@openai"] is None
    nano = next(c for c in plan.route.considered if c.label == "gpt-5.4-nano@openai")
    assert nano.kept
    assert nano.reason == "price unknown: ranked last"


def test_auto_sends_a_task_tagged_extraction_to_nano(shipped: Setup) -> None:
    plan = shipped.plan(
        {"model": "auto", "input": "Is this spam? 'WIN NOW'", "metadata": {"task": "extraction"}}
    )
    assert plan.lane is not None
    assert plan.lane.name == "extraction"
    assert order(plan)[0] == "gpt-5.4-nano@openai"
    assert plan.route.via.startswith("auto rule 3")


def test_a_600k_token_prompt_goes_to_gpt_5_4(shipped: Setup) -> None:
    prompt = "lorem " * 600_000  # one token per word: ~600K tokens, past gpt-5.2's 400K window
    body = {"model": "lane:reasoning", "input": prompt}
    plan = shipped.plan(body)
    assert order(plan) == ["gpt-5.4@openai"]
    reason = skipped(plan)["gpt-5.2@openai"]
    assert reason.startswith("context: ")
    assert reason.endswith("> 400,000")
    auto = shipped.plan({**body, "model": "auto"})
    assert auto.lane is not None
    assert auto.lane.name == "frontier"
    assert order(auto) == ["gpt-5.4@openai"]


def test_a_prompt_that_fits_stays_on_gpt_5_2_without_being_counted(shipped: Setup) -> None:
    plan = shipped.plan({"model": "lane:reasoning", "input": "Prove that sqrt(2) is irrational."})
    assert order(plan) == ["gpt-5.2@openai", "gpt-5.4@openai"]  # gpt-5.2 is cheaper per token
    assert skipped(plan) == {}


def test_max_output_counts_against_the_window(shipped: Setup) -> None:
    # 300K input alone fits 400K; with 128K of output asked for, it does not.
    body = {"model": "lane:reasoning", "input": "lorem " * 300_000, "max_output_tokens": 128_000}
    plan = shipped.plan(body)
    assert order(plan) == ["gpt-5.4@openai"]
    assert "+ 128,000 output > 400,000" in skipped(plan)["gpt-5.2@openai"]


def test_a_computer_use_tool_goes_to_gpt_5_4(shipped: Setup) -> None:
    tools = [{"type": "computer_use_preview", "display_width": 1024, "display_height": 768,
              "environment": "browser"}]  # fmt: skip
    plan = shipped.plan({"model": "lane:reasoning", "input": "Open the page", "tools": tools})
    assert order(plan) == ["gpt-5.4@openai"]
    assert skipped(plan) == {"gpt-5.2@openai": "computer_use unsupported"}
    auto = shipped.plan({"model": "auto", "input": "Open the page", "tools": tools})
    assert auto.lane is not None
    assert auto.lane.name == "frontier"


def test_standard_coding_goes_to_mini_with_gpt_5_4_behind(shipped: Setup) -> None:
    plan = shipped.plan({"model": "auto", "input": "def f(): ...", "metadata": {"task": "coding"}})
    assert order(plan) == ["gpt-5.4-mini@openai", "gpt-5.4@openai"]


def test_auto_without_a_matching_rule_takes_the_default(shipped: Setup) -> None:
    plan = shipped.plan({"model": "auto", "input": "Write a haiku"})
    assert plan.lane is not None
    assert plan.lane.name == "frontier"
    assert plan.route.via == "auto default"


# -- reasoning effort ----------------------------------------------------------------------------


def test_a_lane_capped_at_low_never_sends_high(shipped: Setup) -> None:
    for endpoint, body in (
        ("responses", {"model": "lane:extraction", "input": "x", "reasoning": {"effort": "high"}}),
        ("chat", {"model": "lane:extraction", "messages": [{"role": "user", "content": "x"}],
                  "reasoning_effort": "xhigh"}),
    ):  # fmt: skip
        plan = shipped.plan(body, endpoint)  # type: ignore[arg-type]
        assert {c.effort for c in plan.candidates} == {"low"}
        request = read_request(endpoint, orjson.dumps(body))  # type: ignore[arg-type]
        for candidate in plan.candidates:
            sent = orjson.loads(request.upstream_body(candidate.model, candidate.effort))
            effort = sent["reasoning_effort"] if endpoint == "chat" else sent["reasoning"]["effort"]
            assert effort == "low"
        assert any("capped at the lane's max_effort low" in note for note in plan.route.notes)


def test_the_lane_default_effort_applies_when_the_request_names_none(shipped: Setup) -> None:
    plan = shipped.plan({"model": "lane:coding", "input": "x"})
    assert [c.effort for c in plan.candidates] == ["none", "none"]
    kept = shipped.plan({"model": "lane:coding", "input": "x", "reasoning": {"effort": "medium"}})
    assert [c.effort for c in kept.candidates] == [None, None]  # as the client sent it


def test_an_effort_the_model_does_not_accept_is_lowered_to_one_it_does() -> None:
    setup = Setup({"lanes": {"old": {"candidates": ["gpt-5.2"]}}})
    plan = setup.plan({"model": "lane:old", "input": "x", "reasoning": {"effort": "minimal"}})
    assert [c.effort for c in plan.candidates] == ["none"]  # gpt-5.2 has no "minimal"


# -- how a lane is reached -----------------------------------------------------------------------


def test_lanes_are_reached_by_prefix_alias_header_and_key_lane(shipped: Setup) -> None:
    body = {"model": "extract", "input": "x"}
    assert shipped.plan(body).route.via == "model extract"
    plan = shipped.plan({"model": "gpt-5.4", "input": "x"}, header_lane="coding")
    assert plan.lane is not None
    assert plan.lane.name == "coding"
    plan = shipped.plan({"model": "auto", "input": "x"}, key_lane="reasoning")
    assert plan.lane is not None
    assert plan.lane.name == "reasoning"
    assert plan.route.via == "the key's default lane"


def test_a_plain_model_id_routes_to_that_model_only(shipped: Setup) -> None:
    plan = shipped.plan({"model": "gpt-5.4-mini", "input": "x"}, key_lane="reasoning")
    assert plan.lane is None
    assert order(plan) == ["gpt-5.4-mini@openai"]
    assert [c.effort for c in plan.candidates] == [None]
    assert plan.route.header() == "model -> none"


def test_an_unknown_lane_is_a_404_naming_the_lanes(shipped: Setup) -> None:
    with pytest.raises(ApiError) as raised:
        shipped.plan({"model": "lane:nope", "input": "x"})
    assert raised.value.status == 404
    assert raised.value.code == "lane_not_found"
    assert "coding, extraction, frontier, legacy, reasoning" in raised.value.message
    with pytest.raises(ApiError) as header:
        shipped.plan({"model": "gpt-5.4", "input": "x"}, header_lane="nope")
    assert header.value.status == 404


def test_auto_with_no_rule_and_no_default_is_refused() -> None:
    setup = Setup({"routing": {"shipped_lanes": False},
                   "lanes": {"a": {"candidates": ["gpt-5.4"]}},
                   "auto": {"rules": [{"lane": "a", "tools": True}]}})  # fmt: skip
    with pytest.raises(ApiError) as raised:
        setup.plan({"model": "auto", "input": "x"})
    assert (raised.value.status, raised.value.code) == (400, "no_matching_lane")


def test_a_request_no_candidate_can_serve_is_a_400_with_the_reasons() -> None:
    setup = Setup({"lanes": {"small": {"candidates": ["gpt-5.2"]}}})
    tools = [{"type": "mcp", "server_label": "x", "server_url": "https://mcp.invalid"}]
    with pytest.raises(ApiError) as raised:
        setup.plan({"model": "lane:small", "input": "x", "tools": tools})
    assert (raised.value.status, raised.value.code) == (400, "lane_cannot_serve")
    assert "gpt-5.2@openai: mcp unsupported" in raised.value.message


# -- cost ----------------------------------------------------------------------------------------


def test_cheapest_follows_the_observed_output_of_the_lane() -> None:
    # Before history mini is cheapest; once mini is seen writing 20x what gpt-5.4 writes, it is
    # not (gpt-5.4's output costs ~3.3x mini's).
    setup = Setup({"lanes": {"c": {"policy": "cheapest",
                                   "candidates": ["gpt-5.4", "gpt-5.4-mini"]}}})  # fmt: skip
    assert order(setup.plan({"model": "lane:c", "input": "x"}))[0] == "gpt-5.4-mini@openai"
    for _ in range(10):
        setup.observations.add("c", "gpt-5.4-mini", output_tokens=20_000, input_tokens=10,
                               cached_tokens=0)  # fmt: skip
        setup.observations.add("c", "gpt-5.4", output_tokens=1_000, input_tokens=10,
                               cached_tokens=0)  # fmt: skip
    assert order(setup.plan({"model": "lane:c", "input": "x"}))[0] == "gpt-5.4@openai"


def test_a_cost_ceiling_skips_candidates_expected_to_cost_more() -> None:
    setup = Setup({"lanes": {"c": {"policy": "ordered", "max_cost_usd": "0.01",
                                   "candidates": ["gpt-5.4", "gpt-5.4-mini",
                                                  "gpt-5.4-nano"]}}})  # fmt: skip
    plan = setup.plan({"model": "lane:c", "input": "x", "max_output_tokens": 2000})
    assert order(plan) == ["gpt-5.4-mini@openai"]  # 2,000 x $4.50/M = $0.009
    assert skipped(plan) == {
        "gpt-5.4@openai": "expected $0.030032 > ceiling $0.01",  # 2,000 x $15/M + ~13 in
        "gpt-5.4-nano@openai": "price unknown and the lane has a cost ceiling",
    }


# -- split ---------------------------------------------------------------------------------------

ARMS = [{"model": "gpt-5.2", "weight": 90}, {"model": "gpt-5.4-mini", "weight": 10}]
SPLIT = {
    "routing": {"shipped_lanes": False},
    "lanes": {"canary": {"policy": "split", "candidates": ARMS}},
}


def test_split_arms_follow_the_weights_and_stick_to_a_user() -> None:
    setup = Setup(SPLIT)
    users = 20_000
    arms = Counter(
        order(setup.plan({"model": "lane:canary", "input": "x", "user": f"user-{n}"}))[0]
        for n in range(users)
    )
    share = arms["gpt-5.4-mini@openai"] / users
    sigma = math.sqrt(0.1 * 0.9 / users)
    assert abs(share - 0.10) < 4 * sigma, share
    for n in range(50):
        body = {"model": "lane:canary", "input": f"turn {n}", "safety_identifier": "alice"}
        first = order(setup.plan(body))
        assert first == order(setup.plan({**body, "input": "another turn"}))
    # The other arm follows as a fallback.
    assert order(setup.plan({"model": "lane:canary", "input": "x", "user": "u"})) in (
        ["gpt-5.2@openai", "gpt-5.4-mini@openai"],
        ["gpt-5.4-mini@openai", "gpt-5.2@openai"],
    )


def test_split_sticks_to_the_key_when_the_body_names_no_user() -> None:
    setup = Setup(SPLIT)
    plans = [setup.plan({"model": "lane:canary", "input": "x"}, key_id="key_a") for _ in range(20)]
    assert len({order(p)[0] for p in plans}) == 1
    assert "sticky by key" in plans[0].route.notes[0]


# -- breakers and headroom -----------------------------------------------------------------------


def test_an_open_circuit_skips_the_candidate_until_it_half_opens() -> None:
    setup = Setup({"lanes": {"o": {"candidates": ["gpt-5.4-mini", "gpt-5.4"]}}})
    for _ in range(2):
        ticket = setup.breakers.admit("openai", "gpt-5.4-mini")
        assert ticket is not None
        setup.breakers.record(ticket, False)
    plan = setup.plan({"model": "lane:o", "input": "x"})
    assert order(plan) == ["gpt-5.4@openai"]
    assert skipped(plan) == {"gpt-5.4-mini@openai": "circuit open"}
    setup.clock.advance(30)
    assert order(setup.plan({"model": "lane:o", "input": "x"}))[0] == "gpt-5.4-mini@openai"


def test_every_circuit_open_is_a_503() -> None:
    setup = Setup({"lanes": {"o": {"candidates": ["gpt-5.4-mini"]}}})
    for _ in range(2):
        ticket = setup.breakers.admit("openai", "gpt-5.4-mini")
        assert ticket is not None
        setup.breakers.record(ticket, False)
    with pytest.raises(ApiError) as raised:
        setup.plan({"model": "lane:o", "input": "x"})
    assert (raised.value.status, raised.value.code) == (503, "lane_unavailable")
    with pytest.raises(ApiError) as plain:
        setup.plan({"model": "gpt-5.4-mini", "input": "x"})
    assert (plain.value.status, plain.value.code) == (503, "model_unavailable")


def test_a_candidate_without_headroom_is_tried_last() -> None:
    setup = Setup({"lanes": {"o": {"candidates": ["gpt-5.4-nano", "gpt-5.4-mini"]}}})
    setup.headroom.observe("openai", "gpt-5.4-nano", {
        "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "2s"})  # fmt: skip
    plan = setup.plan({"model": "lane:o", "input": "x"})
    assert order(plan) == ["gpt-5.4-mini@openai", "gpt-5.4-nano@openai"]
    note = next(c.reason for c in plan.route.considered if c.label == "gpt-5.4-nano@openai")
    assert note.startswith("no request headroom")
    assert note.endswith("tried last")


# -- explanations --------------------------------------------------------------------------------


def test_the_explanation_names_every_candidate_and_the_header_sums_it_up(shipped: Setup) -> None:
    tools = [{"type": "tool_search"}]
    plan = shipped.plan({"model": "lane:reasoning", "input": "x", "tools": tools})
    plan.route.chosen = plan.candidates[0].label
    stored = orjson.loads(plan.route.to_json())
    assert stored["candidates"] == [
        ["gpt-5.2@openai", False, "tool_search unsupported", None, None],
        ["gpt-5.4@openai", True, "", stored["candidates"][1][3], "none"],
    ]
    assert isinstance(stored["candidates"][1][3], int)
    data = expand(plan.route.to_json())
    assert data == plan.route.as_dict()
    assert data["lane"] == "reasoning"
    assert data["policy"] == "cheapest"
    assert [(c["candidate"], c["kept"], c["reason"]) for c in data["candidates"]] == [
        ("gpt-5.2@openai", False, "tool_search unsupported"),
        ("gpt-5.4@openai", True, None),
    ]
    assert data["chosen"] == "gpt-5.4@openai"
    header = plan.route.header()
    assert header == (
        "cheapest -> gpt-5.4@openai; skipped gpt-5.2@openai (tool_search unsupported)"
    )


def test_the_stored_route_is_the_same_whether_or_not_its_considerations_were_read(
    shipped: Setup,
) -> None:
    plan = shipped.plan(
        {"model": "lane:reasoning", "input": "x", "tools": [{"type": "tool_search"}]}
    )
    plan.route.chosen = plan.candidates[0].label
    compact = plan.route.to_json()
    assert plan.route.considered[0].reason == "tool_search unsupported"  # made objects now
    assert plan.route.to_json() == compact
    plan.route.considered[1].reason = "changed"
    assert expand(plan.route.to_json())["candidates"][1]["reason"] == "changed"


def test_the_route_header_is_ascii_whatever_the_names() -> None:
    route = Route("x", "model lane:x", "ordered", chosen="gpt-5.4@fournisseur-\u00e9")
    route.rows.append(("gpt-5.2@fournisseur-\u00e9", False, "circuit open", None, None))
    assert route.header() == (
        "ordered -> gpt-5.4@fournisseur-?; skipped gpt-5.2@fournisseur-? (circuit open)"
    )
    assert Route(None, "model", "model", chosen="gpt-5.4@openai").header() == (
        "model -> gpt-5.4@openai"
    )


def test_a_route_stored_in_the_verbose_form_expands_to_itself() -> None:
    """Ledgers written before the compact rows hold each candidate as an object."""
    verbose = {
        "lane": "x",
        "via": "model lane:x",
        "policy": "ordered",
        "chosen": "gpt-5.4@openai",
        "notes": [],
        "candidates": [
            {"candidate": "gpt-5.4@openai", "kept": True, "reason": None,
             "expected_usd": "0.0125", "effort": None},
        ],
    }  # fmt: skip
    assert expand(orjson.dumps(verbose).decode()) == verbose


@pytest.mark.parametrize("pico", [0, 1, 10**12, 1_920_010_000_000, 3 * 10**12 + 5, 123_456_789])
def test_pico_dollars_are_written_as_usd_str_writes_dollars(pico: int) -> None:
    assert pico_usd(pico) == usd_str(Decimal(pico).scaleb(-12))


def test_a_follow_up_carries_its_rate_limit_estimate_to_its_home(shipped: Setup) -> None:
    """Pacing and headroom count a follow-up like any request: input plus max output."""
    shipped.affinity.remember("resp_1", "openai", "gpt-5.4")
    body: dict[str, Any] = {
        "model": "gpt-5.4",
        "input": "x" * 400,
        "previous_response_id": "resp_1",
    }
    body["max_output_tokens"] = 50
    plan = shipped.plan(body)
    assert plan.route.policy == "affinity"
    [home] = plan.candidates
    assert plan.tokens[home] == len(orjson.dumps(body)) // 4 + 50  # the size estimate + 50
