"""`[metrics]` in laneway.toml: validated at load, the token read from the environment only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from laneway.config import ConfigError, GatewayConfig


def load(tmp_path: Path, text: str) -> GatewayConfig:
    path = tmp_path / "laneway.toml"
    path.write_text(text, encoding="utf-8")
    return GatewayConfig.load(path)


def test_defaults_and_the_token_from_the_environment(tmp_path: Path) -> None:
    assert not GatewayConfig().metrics.enabled  # off unless asked for
    config = load(tmp_path, '[metrics]\nenabled = true\ntoken_env = "SCRAPE_TOKEN"\ntop_keys = 5\n')
    assert config.metrics.top_keys == 5
    assert config.metrics.token({"SCRAPE_TOKEN": "t0k3n"}) == "t0k3n"
    assert config.metrics.token({"LANEWAY_METRICS_TOKEN": "elsewhere"}) is None


@pytest.mark.parametrize(
    ("text", "named"),
    [  # a token in the file is refused: secrets are read from the environment
        ('[metrics]\ntoken = "in-the-file"\n', "unknown key 'token' in [metrics]"),
        ("[metrics]\ntop_keys = -1\n", "[metrics] top_keys: must be 0 or more"),
        ('[metrics]\ntoken_env = "not a name"\n', "[metrics] token_env:"),
    ],
)
def test_bad_settings_are_refused_with_the_field(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load(tmp_path, text)
