"""Lane config mistakes are named precisely: the file, the lane and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneway.config import ConfigError, GatewayConfig
from laneway.pricing.catalog import Catalog
from laneway.routing.lanes import SHIPPED_LANES, check_key_lanes, load_lanes_file
from tests.routing.test_router import provider, table_of

CATALOG = Catalog.load()


def load(tmp_path: Path, text: str) -> GatewayConfig:
    path = tmp_path / "laneway.toml"
    path.write_text(text, encoding="utf-8")
    return GatewayConfig.load(path)


def build(config: GatewayConfig, *names: str, models: frozenset[str] = frozenset()) -> list[str]:
    warnings: list[str] = []
    providers = [provider(name, models) for name in names or ("openai",)]
    table = table_of(config, providers, warnings.append)
    check_key_lanes(table, config.key_lanes())
    return warnings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\ncolour = "red"\n',
            "unknown key 'colour' in [lanes.a]",
        ),
        (
            "[lanes.a]\ncandidates = []\n",
            "[lanes.a] candidates: must list at least 1, got 0",
        ),
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\neffort = "high"\nmax_effort = "low"\n',
            "effort 'high' is above max_effort 'low'",
        ),
        (
            '[lanes.a]\npolicy = "split"\ncandidates = ["gpt-5.4", "gpt-5.4-mini"]\n',
            "a split lane needs a weight on every candidate",
        ),
        (
            '[lanes.a]\ncandidates = [{ model = "gpt-5.4", weight = 3 }]\n',
            "weight applies only to policy = 'split'",
        ),
        (
            '[lanes.a]\npolicy = "fastest"\ncandidates = ["gpt-5.4"]\n',
            "[lanes.a] policy: must be 'cheapest', 'ordered' or 'split', got 'fastest'",
        ),
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\nmax_effort = "huge"\n',
            "[lanes.a] max_effort",
        ),
        (
            '[[auto.rules]]\nlane = "a"\ncapabilities = ["telepathy"]\n',
            "unknown capability 'telepathy'",
        ),
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\n[lanes.a.shadow]\nmodel = "gpt-5.4-mini"\n'
            "share = 1.5\n",
            "[lanes.a] shadow.share: must be 1 or less, got 1.5",
        ),
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\nmax_cost_usd = "-1"\n',
            "[lanes.a] max_cost_usd",
        ),
    ],
)
def test_a_malformed_lane_is_refused_at_load(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert str(raised.value).startswith(str(tmp_path / "laneway.toml"))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[lanes.a]\ncandidates = [{ model = "gpt-5.4", provider = "azure" }]\n',
            "lanes.a.candidates[0].provider: provider 'azure' is not configured",
        ),
        (
            '[lanes.a]\ncandidates = ["llama-3"]\n',
            "lanes.a.candidates[0].model: no configured provider serves model 'llama-3'",
        ),
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\nfallbacks = ["llama-3"]\n',
            "lanes.a.fallbacks[0].model: no configured provider serves model 'llama-3'",
        ),
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\naliases = ["extract"]\n',
            "lanes.a.aliases: 'extract' already names lane 'extraction'",
        ),
        (
            '[lanes.a]\ncandidates = ["gpt-5.4"]\naliases = ["auto"]\n',
            "lanes.a.aliases: 'auto' is reserved",
        ),
        ('[[auto.rules]]\nlane = "nowhere"\n', "auto.rules[0].lane: no lane named 'nowhere'"),
        ('[auto]\ndefault = "nowhere"\n', "auto.default: no lane named 'nowhere'"),
        (
            '[server]\napi_keys = [{ key = "sk-a", lane = "nowhere" }]\n',
            "server.api_keys: a key's lane 'nowhere' is not a lane",
        ),
    ],
)
def test_a_lane_that_cannot_be_bound_is_refused_by_name(
    tmp_path: Path, text: str, message: str
) -> None:
    config = load(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        build(config, models=frozenset({"gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.2"}))
    assert str(raised.value) == message


def test_money_in_a_lane_is_exact(tmp_path: Path) -> None:
    config = load(tmp_path, '[lanes.a]\ncandidates = ["gpt-5.4"]\nmax_cost_usd = 0.1\n')
    assert (
        str(config.lanes["a"].max_cost_usd) == "0.1"
    )  # parsed as Decimal, not 0.1000000000000000055


def test_shipped_lanes_whose_models_nobody_serves_are_dropped_with_a_warning() -> None:
    warnings = build(GatewayConfig(), "local", models=frozenset({"gpt-5.4"}))
    assert (
        "shipped lane 'extraction': no configured provider serves model 'gpt-5.4-nano'"
        in (warnings[0])
    )
    assert any(w.startswith("shipped lane 'legacy'") for w in warnings)


def test_a_configured_lane_replaces_the_shipped_one_of_its_name(tmp_path: Path) -> None:
    config = load(tmp_path, '[lanes.coding]\ncandidates = ["gpt-5.4"]\n')
    providers = [provider("openai")]
    table = table_of(config, providers, lambda _: None)
    assert [o.model for o in table.lanes["coding"].options] == ["gpt-5.4"]
    assert table.lanes["coding"].fallbacks == ()
    assert not table.lanes["coding"].shipped
    assert table.lanes["extraction"].shipped


def test_the_shipped_lanes_file_is_valid_and_names_the_seeds_models() -> None:
    shipped = load_lanes_file(SHIPPED_LANES)
    assert set(shipped.lanes) == {"extraction", "coding", "reasoning", "frontier", "legacy"}
    assert [c.model for c in shipped.lanes["extraction"].candidates] == [
        "gpt-5.4-nano",
        "gpt-5.4-mini",
    ]
    assert [c.model for c in shipped.lanes["coding"].candidates] == ["gpt-5.4-mini"]
    assert [c.model for c in shipped.lanes["frontier"].candidates] == ["gpt-5.4"]
    assert all(lane.effort == "none" for n, lane in shipped.lanes.items() if n != "legacy")
