"""Who is calling: the identity a request is recorded under and the limits that apply to it."""

from __future__ import annotations

from dataclasses import dataclass

from laneway.keys.model import VirtualKey


@dataclass(frozen=True, slots=True)
class Client:
    # What the ledger records: a virtual key's id (stable across rotations), a hash of a
    # configured key, or "anonymous". Never the key itself.
    key_id: str | None
    default_lane: str | None = None  # where `model: "auto"` goes for this key
    key: VirtualKey | None = None  # a virtual key: its lanes, models, rate limits and budgets
    prefix: str | None = None  # the presented secret's public prefix, checked for revocation
    run: str | None = None  # a replay run's id: its records are tagged, kept out of traffic


ANONYMOUS_CLIENT = Client(None)
