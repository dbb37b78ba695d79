"""VirtualKey: status, what it may reach, and what it shows."""

from __future__ import annotations

from decimal import Decimal

from laneway.quota.budget import BudgetLimit
from tests.keys.conftest import NOW, make_key


def test_status_revoked_wins_over_expired() -> None:
    key, _ = make_key(expires_at=NOW + 60)
    assert key.status(NOW) == "active"
    assert key.status(NOW + 59.9) == "active"
    assert key.status(NOW + 60) == "expired"
    revoked, _ = make_key(expires_at=NOW + 60, revoked_at=NOW + 10)
    assert revoked.status(NOW) == "revoked"
    assert revoked.status(NOW + 100) == "revoked"
    never, _ = make_key()
    assert never.status(NOW + 10**9) == "active"


def test_a_key_without_lanes_or_models_reaches_everything() -> None:
    key, _ = make_key()
    assert key.allows_lane("coding")
    assert key.allows_model("gpt-5.4")
    assert key.default_lane is None


def test_a_key_with_only_lanes_reaches_only_those_lanes() -> None:
    key, _ = make_key(lanes=("coding", "extraction"))
    assert key.allows_lane("coding")
    assert key.allows_lane("extraction")
    assert not key.allows_lane("reasoning")
    assert not key.allows_model("gpt-5.4")
    assert key.default_lane == "coding"


def test_a_key_with_only_models_reaches_no_lane() -> None:
    key, _ = make_key(models=("gpt-5.4-mini",))
    assert key.allows_model("gpt-5.4-mini")
    assert not key.allows_model("gpt-5.4")
    assert not key.allows_lane("coding")
    assert key.default_lane is None


def test_lanes_and_models_each_allow_their_own() -> None:
    key, _ = make_key(lanes=("extraction",), models=("gpt-5.4-nano",))
    assert key.allows_lane("extraction")
    assert key.allows_model("gpt-5.4-nano")
    assert not key.allows_lane("coding")
    assert not key.allows_model("gpt-5.4")


def test_neither_repr_nor_public_view_holds_the_digest() -> None:
    key, secret = make_key(
        budgets=(BudgetLimit("day", Decimal("50")), BudgetLimit("month", Decimal("1000.50"))),
        expires_at=NOW + 86_400,
        tpm=2_000_000,
    )
    assert key.digest not in repr(key)
    assert secret not in repr(key)
    public = key.public(NOW)
    assert key.digest not in str(public)
    assert "digest" not in public
    assert public == {
        "id": key.id,
        "name": "team-a",
        "prefix": key.prefix,
        "status": "active",
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-01-02T00:00:00Z",
        "revoked_at": None,
        "rpm": None,
        "tpm": 2_000_000,
        "budgets": [{"window": "day", "usd": "50"}, {"window": "month", "usd": "1000.5"}],
        "lanes": [],
        "models": [],
        "passthrough": False,
    }
    assert key.budget("month") == BudgetLimit("month", Decimal("1000.50"))
    assert key.budget("lifetime") is None
