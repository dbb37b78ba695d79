"""Why a request went where it went: the lane, each candidate considered, kept or skipped with
its reason, and the choice. Stored with the ledger record (compact JSON: `Route.to_json`, read
back by `expand`), summarised in the `x-laneway-route` header, printed by `laneway route
--explain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from laneway.pricing.money import PicoUSD

_HEADER_MAX = 512  # header values stay well under any proxy's line limit
UNKNOWN_TASK = "auto: unknown task"  # how `via` begins for a metadata.task no auto rule names


@dataclass(slots=True)
class Consideration:
    label: str  # "model@provider"
    kept: bool
    reason: str = ""  # why skipped, or a note on a kept one ("no headroom: tried last")
    # Expected cost in pico-USD (an integer: ranking stays integer arithmetic, exact to 1e-12).
    expected_pico: PicoUSD | None = None
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
        """The route with each candidate an object, its expected cost as exact USD text (what
        `laneway route --explain --json` prints)."""
        return self._fields([_verbose(row) for row in self._rows()])

    def to_json(self) -> str:
        """The route as the ledger stores it: `as_dict`'s fields, each candidate a compact row
        `[candidate, kept, reason ("" for none), expected cost in integer pico-USD (null:
        unknown or not priced), effort]` (`expand` turns it back into `as_dict`'s form). On
        every request: orjson writes the rows as they are, with no dict or decimal text per
        candidate, and the row stays small in the ledger."""
        return orjson.dumps(self._fields(self._rows())).decode()

    def _rows(self) -> Sequence[Row]:
        considered = self._considered
        if considered is None:
            return self.rows
        return [(c.label, c.kept, c.reason, c.expected_pico, c.effort) for c in considered]

    def _fields(self, candidates: Sequence[object]) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "via": self.via,
            "policy": self.policy,
            "chosen": self.chosen,
            "notes": self.notes,
            "candidates": candidates,
        }

    def header(self) -> str:
        """A one-line summary: `cheapest -> gpt-5.4-nano@openai; skipped gpt-5.2@openai (...)`."""
        text = f"{self.policy} -> {self.chosen or 'none'}"
        if self.via.startswith(UNKNOWN_TASK):  # the client should see where its task went
            text += f"; {self.via}"
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
        return text if text.isascii() else text.encode("ascii", "replace").decode()


def expand(stored: str) -> dict[str, Any]:
    """A route as stored in the ledger (`Route.to_json`) in `as_dict`'s form: each candidate an
    object, its expected cost as exact USD text. A route stored in that form already (ledgers
    written before the compact rows) is returned as it is."""
    data: dict[str, Any] = orjson.loads(stored)
    data["candidates"] = [
        _verbose(row) if isinstance(row, list) else row for row in data.get("candidates") or []
    ]
    return data


def _verbose(row: Sequence[Any]) -> dict[str, Any]:
    """One candidate's row as an object."""
    label, kept, reason, pico, effort = row
    return {
        "candidate": label,
        "kept": kept,
        "reason": reason or None,
        "expected_usd": None if pico is None else pico_usd(pico),
        "effort": effort,
    }


def pico_usd(pico: PicoUSD) -> str:
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
