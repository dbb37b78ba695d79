"""What `Gateway.handle` gives back: laneway's own answer, not an HTTP message.

An `Answer` is the upstream's status and body (whole, or an event stream to relay) with the
request's metadata (`AnswerMeta`): the ledger record's id, the lane, the model and provider that
answered, the attempts made, the route, the exact cost. `laneway.server` turns it into HTTP and
`x-laneway-*` headers; a library caller (replay, Batch) reads it as it is. An error is raised as
`laneway.wire.errors.ApiError`, whose `meta` carries the same metadata once a record exists.

The metadata is a live view of the request's ledger record: for a stream, `cost_usd` and
`settled` change once the stream has ended, so a caller that drained it reads the final figures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from laneway.ledger.record import LedgerRecord
from laneway.routing.explain import Route

_NONE: Mapping[str, str] = MappingProxyType({})


class AnswerMeta:
    """The request's metadata, read from its ledger record and route as they are now.
    `record` (the ledger record) and `explanation` (the routing explanation) are the live
    objects themselves: read them, never change them (the server renders its headers from them
    directly, a property call less per field)."""

    __slots__ = ("explanation", "record")

    def __init__(self, record: LedgerRecord, route: Route) -> None:
        self.record = record
        self.explanation = route

    @property
    def record_id(self) -> str:
        return self.record.id

    @property
    def lane(self) -> str | None:
        return self.record.lane

    @property
    def model(self) -> str | None:
        """The model that answered (None until one did)."""
        return self.record.answering_model

    @property
    def provider(self) -> str | None:
        return self.record.provider

    @property
    def attempts(self) -> int:
        return len(self.record.attempts)

    @property
    def upstream_request_id(self) -> str | None:
        return self.record.upstream_request_id

    @property
    def settled(self) -> bool:
        """Whether the outcome is recorded: usage and cost are final."""
        return self.record.settled

    @property
    def cost_usd(self) -> Decimal | None:
        """The exact cost once settled; None while unsettled or when unknown."""
        return self.record.cost_usd

    @property
    def route(self) -> str:
        """The one-line routing summary (`x-laneway-route`)."""
        return self.explanation.header()

    @property
    def annotations(self) -> Mapping[str, str]:
        """What observers attached to the answer (a trace id, ...): name -> value."""
        return self.record.annotations or _NONE


@dataclass(slots=True)
class Answer:
    """An upstream's answer as the client gets it: `body` whole, or `stream` to relay."""

    status: int
    meta: AnswerMeta
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None  # the event stream's bytes, as they come
