"""The gateway's config: typed, strict, and where the key and base URL come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneway.assembly import effective_providers
from laneway.clock import ManualClock
from laneway.config import ConfigError, GatewayConfig, ProviderConfig
from laneway.http.limits import ConnectionLimits
from laneway.upstream.http1 import Http1Transport
from laneway.upstream.providers import build_providers, candidates_for


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "laneway.toml"
    path.write_text(text)
    return path


def test_unknown_keys_and_bad_values_name_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 99999\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as raised:
        GatewayConfig.load(path)
    message = str(raised.value)
    assert str(path) in message
    assert f"{path}: [server] port: must be 65535 or less, got 99999" in message
    assert f"{path}: unknown key 'colour' in [server]" in message


def test_an_openai_compatible_provider_needs_a_base_url(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.local]\nkind = "openai-compatible"\n')
    with pytest.raises(ConfigError, match="needs base_url"):
        GatewayConfig.load(path)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = GatewayConfig.load(
        write(tmp_path, 'catalog = ["prices.toml"]\n[ledger]\npath = "l.db"\n')
    )
    assert config.ledger.path == tmp_path / "l.db"
    assert config.catalog == (tmp_path / "prices.toml",)


def test_no_provider_and_no_key_means_the_emulator() -> None:
    assert effective_providers(GatewayConfig(), {}) is None


def test_an_openai_key_alone_means_openai_at_the_sdks_base_url() -> None:
    env = {"OPENAI_API_KEY": "sk-real", "OPENAI_BASE_URL": "https://eu.api.openai.com/v1/"}
    providers = effective_providers(GatewayConfig(), env)
    assert providers == {"openai": ProviderConfig(kind="openai")}
    (openai,) = build_providers(
        providers, env, lambda *_: Http1Transport(), ManualClock(), budget_ratio=0.2
    )
    assert openai.base_url == "https://eu.api.openai.com/v1"
    assert openai.url("responses") == "https://eu.api.openai.com/v1/responses"
    assert openai.headers["authorization"] == "Bearer sk-real"
    assert "sk-real" not in repr(openai)
    assert effective_providers(GatewayConfig(), {"OPENAI_API_KEY": "sk"}) == providers
    default = build_providers(
        providers,
        {"OPENAI_API_KEY": "k"},
        lambda *_: Http1Transport(),
        ManualClock(),
        budget_ratio=0,
    )
    assert default[0].base_url == "https://api.openai.com/v1"


def test_a_missing_key_variable_is_named() -> None:
    providers = {"openai": ProviderConfig(kind="openai", api_key_env="TEAM_OPENAI_KEY")}
    with pytest.raises(ConfigError, match=r"\$TEAM_OPENAI_KEY"):
        build_providers(providers, {}, lambda *_: Http1Transport(), ManualClock(), budget_ratio=0)


def test_client_keys_come_from_config_and_environment() -> None:
    config = GatewayConfig.model_validate({"server": {"api_keys": ["sk-a", "sk-b"]}})
    assert config.client_keys({"LANEWAY_API_KEYS": " sk-c ,sk-a,"}) == ("sk-a", "sk-b", "sk-c")
    assert "sk-a" not in repr(config)


def test_candidates_are_the_model_then_its_fallbacks_on_every_provider_that_serves_them() -> None:
    configs = {
        "mini-only": ProviderConfig(
            kind="openai-compatible", base_url="http://a/v1", models=("m",)
        ),
        "any": ProviderConfig(kind="openai-compatible", base_url="http://b/v1"),
    }
    providers = build_providers(
        configs, {}, lambda *_: Http1Transport(), ManualClock(), budget_ratio=0
    )
    pairs = [(c.provider.name, c.model) for c in candidates_for(providers, "m", ["f", "m"])]
    assert pairs == [("mini-only", "m"), ("any", "m"), ("any", "f")]


def test_server_read_deadlines_and_caps_are_validated() -> None:
    config = GatewayConfig.model_validate(
        {"server": {"header_timeout_s": 5, "body_timeout_s": 30, "max_connections_per_client": 8}}
    )
    limits = config.server.connection_limits()
    assert limits == ConnectionLimits(
        header_timeout_s=5, body_timeout_s=30, max_connections_per_client=8
    )
    for bad in (
        {"header_timeout_s": 30, "body_timeout_s": 5},
        {"header_timeout_s": 0},
        {"max_connections": 10, "max_connections_per_client": 11},
        {"read_timeout_s": 5},
    ):
        with pytest.raises(ValueError, match="server"):
            GatewayConfig.model_validate({"server": bad})
