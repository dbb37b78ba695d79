"""`[state]` as configured: the lease a replica's Redis reservations outlive it by."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneway.config import ConfigError, GatewayConfig


def load(tmp_path: Path, state: str) -> GatewayConfig:
    path = tmp_path / "laneway.toml"
    path.write_text(f'[state]\nbackend = "redis"\n{state}\n')
    return GatewayConfig.load(path)


def test_the_lease_is_thirty_seconds_unless_set(tmp_path: Path) -> None:
    assert load(tmp_path, "").state.lease_s == 30.0
    assert load(tmp_path, "lease_s = 5").state.lease_s == 5.0


@pytest.mark.parametrize("value", ["0", "0.5", "3601", '"long"'])
def test_a_lease_out_of_range_is_refused_at_load(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"\[state\] lease_s: must be"):
        load(tmp_path, f"lease_s = {value}")
