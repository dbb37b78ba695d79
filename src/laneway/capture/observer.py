"""The capture observer: at a request's start it decides, cheaply, whether to sample it (the
lane, then one draw of the gateway's random generator against the share); only a sampled
exchange has its bodies gathered (`Exchange.want_bodies`) and is followed (`Exchange.follow`:
the observer is told of its settlement, and of no other's), and at its settlement the observer
hands a `Pending` to the capture writer. An unsampled request costs a few attribute reads and,
in a captured lane, one draw.

Not sampled: shadow copies and replay runs' calls (not live traffic), requests continuing a
stored response (`previous_response_id`: they depend on state a replay lacks), background
responses, endpoints a workload cannot call, and every request once the day's cap is reached.
Only answers that settled `ok` are stored.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import ClassVar

from laneway.capture.day_cap import DAY_S
from laneway.capture.pending import Pending
from laneway.capture.writer import CaptureWriter
from laneway.clock import Clock
from laneway.gateway.observers import Bodies, Exchange, Observer
from laneway.wire.batch_lines import ENDPOINTS

_ENDPOINTS = frozenset(ENDPOINTS.values())


class CaptureObserver(Observer):
    wants_bodies: ClassVar[bool] = True
    bodies_per_exchange: ClassVar[bool] = True
    follows_per_exchange: ClassVar[bool] = True  # settled: only the sampled

    def __init__(
        self,
        writer: CaptureWriter,
        *,
        lanes: Collection[str] | None,
        share: float,
        rng: random.Random,
        clock: Clock,
    ) -> None:
        """`lanes`: the lanes captured; None: every request, in a lane or not."""
        self._writer = writer
        self._lanes = None if lanes is None else frozenset(lanes)
        self._share = share
        self._rng = rng
        self._clock = clock

    def request_started(self, exchange: Exchange) -> None:
        record = exchange.record
        lanes = self._lanes
        if lanes is not None and record.lane not in lanes:
            return
        if record.shadow or exchange.client.run is not None:
            return
        request = exchange.request
        if request.endpoint not in _ENDPOINTS or request.previous_response_id is not None:
            return
        if self._rng.random() >= self._share:
            return
        if request.body.get("background") is True:
            return
        if int(self._clock.time() // DAY_S) == self._writer.full_day:
            return
        exchange.want_bodies()
        exchange.follow(self)

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        record = exchange.record
        if bodies is None or record.status != "ok":
            return
        self._writer.put(
            Pending(
                created_at=record.settled_at or record.created_at,
                lane=record.lane,
                record_id=record.id,
                endpoint=exchange.request.endpoint,
                requested_model=record.requested_model,
                answering_model=record.answering_model,
                effort=_effort(exchange),
                stream=record.stream,
                request=bodies.request,
                answer=bodies.answer,
            )
        )


def _effort(exchange: Exchange) -> str | None:
    """The effort the answering candidate was sent at (None on it: the request's own)."""
    record = exchange.record
    for candidate in exchange.plan.candidates:
        if candidate.model == record.answering_model and candidate.provider.name == record.provider:
            return candidate.effort or exchange.request.effort
    return exchange.request.effort
