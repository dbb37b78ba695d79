"""An output cap above what a model writes: OpenAI's 400 naming the field when no candidate can
take it, a skip (with its reason) for the candidates that cannot when another can."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from laneway.clock import ManualClock
from laneway.config import GatewayConfig
from laneway.pricing.catalog import Catalog
from laneway.routing.affinity import Affinity
from laneway.routing.lanes import build_lanes
from laneway.routing.observations import Observations
from laneway.routing.router import Plan, Router
from laneway.upstream.breaker import Breakers, BreakerSettings
from laneway.upstream.headroom import Headroom
from laneway.upstream.health import Health
from laneway.wire.errors import ApiError
from laneway.wire.request import Endpoint, read_request
from tests.routing.test_router import provider

SMALL_MAX = 32_000  # gpt-5.2's max output in this test's catalog (128,000 shipped)


@pytest.fixture
def router(tmp_path: Path) -> Router:
    override = tmp_path / "limits.toml"
    override.write_text(f'[models."gpt-5.2"]\nmax_output_tokens = {SMALL_MAX}\n')
    catalog = Catalog.load(override)
    config = GatewayConfig.model_validate(
        {
            "lanes": {
                "mixed": {"candidates": ["gpt-5.2", "gpt-5.4"]},
                "small": {"candidates": ["gpt-5.2"]},
            },
            "models": {"gpt-5.4": {"fallbacks": ["gpt-5.2"]}},
            "routing": {"shipped_lanes": False},
        }
    )
    providers = [provider("openai")]
    clock = ManualClock()
    table = build_lanes(
        config.lanes,
        None,
        providers,
        catalog,
        timeouts=config.timeouts,
        shipped_lanes=False,
        warn=lambda _: None,
    )
    return Router(
        table,
        providers,
        catalog,
        health=Health(Breakers(clock, BreakerSettings()), Headroom(clock)),
        observations=Observations(),
        affinity=Affinity(),
        fallbacks={"gpt-5.4": ("gpt-5.2",)},
        rng=random.Random(1),
    )


def plan(router: Router, endpoint: Endpoint, **body: Any) -> Plan:
    body.setdefault("input" if endpoint == "responses" else "messages", "hi")
    return router.plan(read_request(endpoint, orjson.dumps(body)))


@pytest.mark.parametrize(
    ("endpoint", "field", "model"),
    [
        ("responses", "max_output_tokens", "gpt-5.4"),
        ("chat", "max_completion_tokens", "gpt-5.4"),
        ("chat", "max_tokens", "gpt-5.4"),
        ("responses", "max_output_tokens", "lane:mixed"),  # above the largest candidate's
        ("responses", "max_output_tokens", "lane:small"),
    ],
)
def test_above_every_candidates_max_is_openais_400_naming_the_field(
    router: Router, endpoint: Endpoint, field: str, model: str
) -> None:
    too_many = 128_001 if model != "lane:small" else SMALL_MAX + 1
    with pytest.raises(ApiError) as refused:
        plan(router, endpoint, model=model, **{field: too_many})
    error = refused.value
    assert (error.status, error.code, error.param) == (400, "invalid_value", field)
    assert str(too_many) in error.message


def test_a_lane_candidate_that_cannot_take_the_cap_is_skipped(router: Router) -> None:
    found = plan(router, "responses", model="lane:mixed", max_output_tokens=64_000)
    assert [c.model for c in found.candidates] == ["gpt-5.4"]
    assert "max output 64,000 > the model's 32,000" in found.route.header()


def test_a_plain_models_fallback_that_cannot_take_the_cap_is_skipped(router: Router) -> None:
    found = plan(router, "responses", model="gpt-5.4", max_output_tokens=64_000)
    assert [c.model for c in found.candidates] == ["gpt-5.4"]
    assert "max output 64,000 > 32,000" in found.route.header()
    within = plan(router, "responses", model="gpt-5.4", max_output_tokens=32_000)
    assert [c.model for c in within.candidates] == ["gpt-5.4", "gpt-5.2"]
