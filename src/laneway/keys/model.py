"""A virtual key as stored: who it is, what it may reach, and its limits. Never its secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from laneway.pricing.money import usd_str
from laneway.quota.budget import BudgetLimit, Window

Status = Literal["active", "revoked", "expired"]


@dataclass(frozen=True, slots=True)
class VirtualKey:
    id: str  # "vk_...": stable across rotations; the ledger's key_id
    name: str
    prefix: str  # the public part of the key, changed by rotation
    digest: str = field(repr=False)  # SHA-256 hex of the whole key
    created_at: float
    updated_at: float  # the last change of any kind (created, revoked, rotated)
    expires_at: float | None = None
    revoked_at: float | None = None
    rpm: int | None = None
    tpm: int | None = None
    budgets: tuple[BudgetLimit, ...] = ()  # at most one per window
    lanes: tuple[str, ...] = ()  # empty (with models empty): any lane
    models: tuple[str, ...] = ()  # empty (with lanes empty): any model
    passthrough: bool = False  # may use the paths [passthrough] allows (docs/gateway.md)

    def status(self, now: float) -> Status:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    @property
    def unrestricted(self) -> bool:
        return not self.lanes and not self.models

    def allows_lane(self, name: str) -> bool:
        # A key restricted only to models reaches no lane: a lane could route to any model.
        return self.unrestricted or name in self.lanes

    def allows_model(self, model: str) -> bool:
        # A key restricted only to lanes reaches models only through those lanes.
        return self.unrestricted or model in self.models

    @property
    def default_lane(self) -> str | None:
        """Where `model: "auto"` from this key goes."""
        return self.lanes[0] if self.lanes else None

    def budget(self, window: Window) -> BudgetLimit | None:
        return next((b for b in self.budgets if b.window == window), None)

    def public(self, now: float) -> dict[str, Any]:
        """JSON-ready, for listings and the admin API: everything but the digest. Money is exact
        decimal text; times are ISO 8601 UTC."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "status": self.status(now),
            "created_at": iso_utc(self.created_at),
            "expires_at": iso_utc(self.expires_at),
            "revoked_at": iso_utc(self.revoked_at),
            "rpm": self.rpm,
            "tpm": self.tpm,
            "budgets": [{"window": b.window, "usd": usd_str(b.usd)} for b in self.budgets],
            "lanes": list(self.lanes),
            "models": list(self.models),
            "passthrough": self.passthrough,
        }


def iso_utc(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")
