"""The router plans the common lane request in one pass (`_plan_ordinary`) for speed; the general
path (`_plan_lane`) must give the same plan. Hypothesis generates lanes (every policy, weights,
fallbacks, efforts, cost ceilings), requests, open breakers, spent headroom and lane history,
and the two routers, alike but for the one-pass switch, must agree on everything a plan holds,
or refuse alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.routing.lane_config import PolicyName
from laneway.routing.policies import POLICIES
from laneway.routing.router import Plan
from laneway.wire.errors import ApiError
from tests.routing.test_router import Setup, provider

MODELS = ("gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.2")
PROVIDERS = ("a", "b")
EFFORTS = (None, "none", "low", "medium", "high")


def test_the_policy_names_config_accepts_are_the_policies_routing_has() -> None:
    assert set(PolicyName.__args__) == set(POLICIES)  # type: ignore[attr-defined]


@st.composite
def lanes(draw: st.DrawFn) -> dict[str, Any]:
    policy = draw(st.sampled_from(sorted(POLICIES)))
    models = draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=4, unique=True))
    candidates: list[Any] = list(models)
    if policy == "split":
        weights = draw(st.lists(st.integers(0, 5), min_size=len(models), max_size=len(models)))
        if not sum(weights):
            weights[0] = 1
        candidates = [{"model": m, "weight": w} for m, w in zip(models, weights, strict=True)]
    lane: dict[str, Any] = {"policy": policy, "candidates": candidates}
    rest = [m for m in MODELS if m not in models]
    lane["fallbacks"] = (
        draw(st.lists(st.sampled_from(rest), max_size=2, unique=True)) if rest else []
    )
    effort = draw(st.sampled_from(EFFORTS))
    if effort is not None:
        lane["effort"] = effort
    if draw(st.booleans()):
        lane["max_effort"] = "high"
    if draw(st.booleans()):
        lane["max_cost_usd"] = str(draw(st.sampled_from([Decimal("0.0001"), Decimal("0.01")])))
    return lane


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "lane:l", "input": "word " * draw(st.integers(1, 300))}
    if draw(st.booleans()):
        body["max_output_tokens"] = draw(st.integers(16, 100_000))
    effort = draw(st.sampled_from(EFFORTS))
    if effort is not None:
        body["reasoning"] = {"effort": effort}
    if draw(st.booleans()):
        body["safety_identifier"] = draw(st.sampled_from(["u1", "u2", "u3"]))
    return body


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    pairs = [(p, m) for p in PROVIDERS for m in MODELS]
    return {
        "open": draw(st.lists(st.sampled_from(pairs), max_size=3, unique=True)),
        "busy": draw(st.lists(st.sampled_from(pairs), max_size=3, unique=True)),
        "history": draw(
            st.lists(
                st.tuples(st.sampled_from(MODELS), st.integers(0, 50_000), st.integers(0, 9)),
                max_size=4,
            )
        ),
        "key": draw(st.sampled_from([None, "key_1", "key_2"])),
    }


def router(lane: dict[str, Any], state: dict[str, Any], one_pass: bool) -> Setup:
    setup = Setup(
        {"lanes": {"l": lane}, "routing": {"shipped_lanes": False}},
        *(provider(name) for name in PROVIDERS),
    )
    setup.router.one_pass = one_pass
    breakers = setup.breakers
    for name, model in state["open"]:
        for _ in range(2):  # consecutive_failures=2 in Setup
            ticket = breakers.admit(name, model)
            assert ticket is not None
            breakers.record(ticket, False)
    for name, model in state["busy"]:
        setup.headroom.observe_429(name, model, 30.0)
    for model, output, cached_tenths in state["history"]:
        setup.observations.add(
            "l", model, output_tokens=output, input_tokens=1000, cached_tokens=cached_tenths * 100
        )
    return setup


def outcome(setup: Setup, body: dict[str, Any], key: str | None) -> Any:
    try:
        plan: Plan = setup.plan(body, key_id=key)
    except ApiError as error:
        return ("refused", error.status, error.code, error.message)
    return (
        [(c.label, c.effort) for c in plan.candidates],
        orjson.loads(plan.route.to_json()),
        plan.route.header(),
        plan.timeouts,
        sorted((c.label, c.effort, tokens) for c, tokens in plan.tokens.items()),
    )


@settings(max_examples=300, deadline=None)
@given(lane=lanes(), body=requests(), state=conditions())
def test_the_one_pass_plan_is_the_general_paths_plan(
    lane: dict[str, Any], body: dict[str, Any], state: dict[str, Any]
) -> None:
    fast, general = router(lane, state, one_pass=True), router(lane, state, one_pass=False)
    calls = []
    one_pass = fast.router._plan_ordinary

    def counted(*args: Any, **kwargs: Any) -> Plan:
        calls.append(1)
        return one_pass(*args, **kwargs)

    fast.router._plan_ordinary = counted  # type: ignore[method-assign]
    # Twice each: the routers' memos (efforts, timeouts) are filled by the first plan.
    for _ in range(2):
        assert outcome(fast, body, state["key"]) == outcome(general, body, state["key"])
    built = fast.router.table.lanes["l"]
    most = body.get("max_output_tokens")
    if built.distinct and (most is None or most <= built.output_limit):
        assert calls  # no hosted tools, within every model's limits: the one pass ran
