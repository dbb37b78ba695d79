"""Why a request went where it went: the lane, each candidate considered, kept or skipped with
its reason, and the choice. Stored with the ledger record (JSON), summarised in the
`x-laneway-route` header, printed by `laneway route --explain`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

_HEADER_MAX = 512  # header values stay well under any proxy's line limit


@dataclass(slots=True)
class Consideration:
    label: str  # "model@provider"
    kept: bool
    reason: str = ""  # why skipped, or a note on a kept one ("no headroom: tried last")
    # Expected cost in pico-USD (an integer: ranking stays integer arithmetic, exact to 1e-12).
    expected_pico: int | None = None
    effort: str | None = None

    @property
    def expected_usd(self) -> Decimal | None:
        return None if self.expected_pico is None else Decimal(self.expected_pico).scaleb(-12)


@dataclass(slots=True)
class Route:
    lane: str | None
    via: str  # how the lane was reached: "model", "lane:x", "alias", "header", "auto: ..."
    policy: str  # cheapest | ordered | split | model (a plain model id) | affinity
    considered: list[Consideration] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # effort changes, split arm, ...
    chosen: str | None = None  # "model@provider" that answered; None until one did

    def as_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "via": self.via,
            "policy": self.policy,
            "chosen": self.chosen,
            "notes": self.notes,
            "candidates": [
                {
                    "candidate": c.label,
                    "kept": c.kept,
                    "reason": c.reason or None,
                    "expected_usd": None if c.expected_pico is None else pico_usd(c.expected_pico),
                    "effort": c.effort,
                }
                for c in self.considered
            ],
        }

    def to_json(self) -> str:
        return orjson.dumps(self.as_dict()).decode()

    def header(self) -> str:
        """A one-line summary: `cheapest -> gpt-5.4-nano@openai; skipped gpt-5.2@openai (...)`."""
        text = f"{self.policy} -> {self.chosen or 'none'}"
        for c in self.considered:
            if not c.kept:
                text += f"; skipped {c.label} ({c.reason})"
        if len(text) > _HEADER_MAX:
            text = text[: _HEADER_MAX - 3] + "..."
        # Header values are latin-1 on the wire; reasons are ASCII, model names may not be.
        return text.encode("ascii", "replace").decode()


def pico_usd(pico: int) -> str:
    """Pico-dollars as exact plain-decimal USD text, as `usd_str` writes it, without Decimal."""
    whole, fraction = divmod(pico, 10**12)
    digits = f"{fraction:012d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)
