"""Which paths `[passthrough] paths` opens, and which clients may use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneway.clock import SystemClock
from laneway.config import GatewayConfig
from laneway.gateway.client import Client
from laneway.gateway.passthrough import Passthrough
from laneway.gateway.passthrough_paths import PathRules, parse_rule
from laneway.keys.model import VirtualKey
from laneway.ledger.sqlite import SQLiteLedger
from laneway.ledger.writer import LedgerWriter
from laneway.quota.budget import parse_budget
from laneway.upstream.timeouts import TimeoutsConfig

RULES = PathRules(parse_rule(r) for r in ("/v1/files", "GET,DELETE /v1/files/*", "/v1/batches"))


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/files", True),
        ("POST", "/v1/files", True),
        ("GET", "/v1/files/file-1/content", True),
        ("DELETE", "/v1/files/file-1", True),
        ("POST", "/v1/files/file-1", False),  # the prefix rule names GET and DELETE only
        ("GET", "/v1/batches/b1", False),  # an exact rule opens that path only
        ("GET", "/v1/filesystem", False),  # a prefix is a path segment, not a string prefix
        ("GET", "/v1/files/../fine_tuning/jobs", False),
        ("GET", "/v1/files/%2e%2e/fine_tuning/jobs", False),
        ("GET", "/v1/files//x", False),
        ("GET", "/v1/files/.", False),
        ("PUT", "/v1/files", False),
        ("GET", "/v2/files", False),
    ],
)
def test_rules_match_methods_and_whole_segments(method: str, path: str, allowed: bool) -> None:
    assert RULES.allows(method, path) is allowed


@pytest.mark.parametrize(
    "rule", ["/files", "/v1/", "/v1/*/jobs", "PUT /v1/files", "GET /v1/files/../x", "/v1/a%2f"]
)
def test_bad_rules_are_config_errors(rule: str, tmp_path: Path) -> None:
    path = tmp_path / "laneway.toml"
    path.write_text(f'[passthrough]\npaths = ["{rule}"]\n', encoding="utf-8")
    with pytest.raises(Exception, match="passthrough"):
        GatewayConfig.load(path)


def key(**limits: object) -> VirtualKey:
    fields: dict[str, object] = {"passthrough": True, **limits}
    return VirtualKey(
        id="vk_1", name="k", prefix="abc", digest="0", created_at=0, updated_at=0,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_only_an_unlimited_granted_key_passes(tmp_path: Path) -> None:
    writer = LedgerWriter(SQLiteLedger(tmp_path / "ledger.db"))
    timeouts = TimeoutsConfig().for_effort(None)
    guard = Passthrough(RULES, None, writer, SystemClock(), timeouts)
    assert guard.granted(Client("vk_1", key=key()))
    for limits in (
        {"lanes": ("coding",)},
        {"models": ("gpt-5.4",)},
        {"budgets": (parse_budget("5/day"),)},
        {"rpm": 10},
        {"tpm": 1000},
        {"passthrough": False},
    ):
        assert not guard.granted(Client("vk_1", key=key(**limits))), limits
    assert not guard.granted(Client("key_static"))  # static keys: off unless switched on
    assert not guard.allows("GET", "/v1/files")  # no provider: nothing to forward to
    writer.close()
