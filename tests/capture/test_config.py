"""The `[capture]` section: off by default, checked at load (patterns compiled, unknown keys and
out-of-range values refused), each problem naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneway.assembly import Assembly
from laneway.config import GatewayConfig
from laneway.errors import ConfigError


def load(tmp_path: Path, text: str) -> GatewayConfig:
    path = tmp_path / "laneway.toml"
    path.write_text(text)
    return GatewayConfig.load(path)


def test_capture_is_off_by_default(tmp_path: Path) -> None:
    assert not GatewayConfig().capture.on
    assert not load(tmp_path, "[capture]\nshare = 0.5\n").capture.on  # no lanes named
    on = load(tmp_path, '[capture]\nlanes = ["*"]\nshare = 0.25\n').capture
    assert on.on
    assert on.every_lane
    assert on.share == 0.25


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[capture]\nredact = [{ pattern = "(unclosed" }]\n', "is not a regular expression"),
        ('[capture]\nredact = [{ pattern = "x*" }]\n', "matches the empty string"),
        ('[capture]\nlanes = ["*", "support"]\n', "list it alone"),
        ("[capture]\nshare = 1.5\n", "[capture] share: must be 1 or less"),
        ("[capture]\nper_day = -1\n", "[capture] per_day"),
        ("[capture]\nheaders = true\n", "headers"),
        ('[capture]\nredact = [{ pattern = "a", with = "b" }]\n', "with"),
    ],
)
def test_a_bad_capture_section_is_refused_at_load(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert fragment in str(raised.value)
    assert str(tmp_path / "laneway.toml") in str(raised.value)


def test_a_capture_lane_that_is_not_a_lane_is_refused_when_the_lanes_are_built(
    tmp_path: Path,
) -> None:
    config = load(tmp_path, '[capture]\nlanes = ["codng"]\n')
    with Assembly(config, {}) as assembly, pytest.raises(ConfigError) as caught:
        assert assembly.lanes
    assert "capture.lanes: 'codng' is not a lane (lanes: " in str(caught.value)
    assert "coding" in str(caught.value)  # the shipped lanes are listed beside it
    every = load(tmp_path, '[capture]\nlanes = ["*"]\n')
    with Assembly(every, {}) as assembly:
        assert assembly.lanes.lanes  # "*" names no lane
