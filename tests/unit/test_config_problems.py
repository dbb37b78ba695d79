"""Config errors in laneway's words, one line per problem, for each shape pydantic reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneway.config import GatewayConfig
from laneway.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[server]\nporty = 1\n", "unknown key 'porty' in [server]"),
        ("[bogus]\na = 1\n", "unknown section [bogus]"),
        ("bogus = 1\n", "unknown key 'bogus'"),
        ('[providers.x]\nkind = "openai"\ncolour = 1\n', "unknown key 'colour' in [providers.x]"),
        ('[server]\nport = "abc"\n', "[server] port: must be a whole number, got 'abc'"),
        ("[server]\nport = -1\n", "[server] port: must be 0 or more, got -1"),
        ("[keys]\nrefresh_s = 0\n", "[keys] refresh_s: must be more than 0, got 0"),
        ('[state]\ntimeout_s = "soon"\n', "[state] timeout_s: must be a number, got 'soon'"),
        (
            '[state]\non_unavailable = "maybe"\n',
            "[state] on_unavailable: must be 'closed' or 'open', got 'maybe'",
        ),
        (
            '[budgets]\nglobal = ["5/week"]\n',
            "[budgets] global: a budget window is one of day, month, lifetime: '5/week'",
        ),
        ('[providers.x]\nbase_url = "http://x"\n', "[providers.x] kind: missing (it is required)"),
        ("[lanes.a]\ncandidates = []\n", "[lanes.a] candidates: must list at least 1, got 0"),
        ("[state]\nurl = 5\n", "[state] url: must be text (in quotes), got 5"),
    ],
)
def test_each_shape_reads_in_laneways_words(tmp_path: Path, text: str, line: str) -> None:
    path = tmp_path / "laneway.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        GatewayConfig.load(path)
    message = str(raised.value)
    assert message == f"{path}: {line}"
    for leaked in ("Value error", "Extra inputs", "Input should", "Field required", "field '"):
        assert leaked not in message


def test_a_secret_is_never_quoted_back(tmp_path: Path) -> None:
    # A key pasted where its variable's name belongs: the error names the field, not the value.
    path = tmp_path / "laneway.toml"
    path.write_text(
        '[providers.x]\nkind = "openai"\napi_key_env = "sk-live-hunter2"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as raised:
        GatewayConfig.load(path)
    assert "[providers.x] api_key_env:" in str(raised.value)
    assert "hunter2" not in str(raised.value)
