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


# A Consideration's fields, in order: (label, kept, reason, expected_pico, effort).
Row = tuple[str, bool, str, int | None, str | None]


@dataclass(slots=True)
class Route:
    lane: str | None
    via: str  # how the lane was reached: "model", "lane:x", "alias", "header", "auto: ..."
    policy: str  # cheapest | ordered | split | model (a plain model id) | affinity
    notes: list[str] = field(default_factory=list)  # effort changes, split arm, ...
    chosen: str | None = None  # "model@provider" that answered; None until one did
    # The candidates as routing wrote them in one pass, settled: tuples, made Considerations
    # only if `considered` is read (the JSON and the header read them as they are). Objects
    # cost ~4x a tuple to make, on every routed request.
    rows: list[Row] = field(default_factory=list, repr=False)
    _considered: list[Consideration] | None = field(default=None, init=False, repr=False)

    @property
    def considered(self) -> list[Consideration]:
        """Every candidate considered, in order; changes made to them are the route's."""
        considered = self._considered
        if considered is None:
            rows = self.rows
            considered = self._considered = [Consideration(*row) for row in rows] if rows else []
            rows.clear()
        return considered

    @considered.setter
    def considered(self, considered: list[Consideration]) -> None:
        self._considered = considered
        self.rows.clear()

    def as_dict(self) -> dict[str, Any]:
        considered = self._considered
        if considered is None:
            candidates = [
                {
                    "candidate": label,
                    "kept": kept,
                    "reason": reason or None,
                    "expected_usd": None if pico is None else pico_usd(pico),
                    "effort": effort,
                }
                for label, kept, reason, pico, effort in self.rows
            ]
        else:
            candidates = [
                {
                    "candidate": c.label,
                    "kept": c.kept,
                    "reason": c.reason or None,
                    "expected_usd": None if c.expected_pico is None else pico_usd(c.expected_pico),
                    "effort": c.effort,
                }
                for c in considered
            ]
        return {
            "lane": self.lane,
            "via": self.via,
            "policy": self.policy,
            "chosen": self.chosen,
            "notes": self.notes,
            "candidates": candidates,
        }

    def to_json(self) -> str:
        return orjson.dumps(self.as_dict()).decode()

    def header(self) -> str:
        """A one-line summary: `cheapest -> gpt-5.4-nano@openai; skipped gpt-5.2@openai (...)`."""
        text = f"{self.policy} -> {self.chosen or 'none'}"
        if self._considered is None:
            for label, kept, reason, _, _ in self.rows:
                if not kept:
                    text += f"; skipped {label} ({reason})"
        else:
            for c in self._considered:
                if not c.kept:
                    text += f"; skipped {c.label} ({c.reason})"
        if len(text) > _HEADER_MAX:
            text = text[: _HEADER_MAX - 3] + "..."
        # Header values are latin-1 on the wire; reasons are ASCII, model names may not be.
        return text.encode("ascii", "replace").decode()


def pico_usd(pico: int) -> str:
    """Pico-dollars as exact plain-decimal USD text, as `usd_str` writes it, without Decimal."""
    if pico < 0:  # never a cost; kept as it always read
        whole, fraction = divmod(pico, 10**12)
        digits = f"{fraction:012d}".rstrip("0")
        return f"{whole}.{digits}" if digits else str(whole)
    # On every routed request: slicing the digits costs about half of divmod and format().
    text = str(pico)
    if len(text) > 12:
        units, digits = text[:-12], text[-12:].rstrip("0")
        return f"{units}.{digits}" if digits else units
    digits = text.rjust(12, "0").rstrip("0")
    return f"0.{digits}" if digits else "0"
