"""The gateway as a library: `await gateway.handle(endpoint, body, client=...)` returns the answer.

    request -> read the fields routing needs -> routing.plan (lane, candidates, effort, why)
      -> admission (the key's lanes and models, rate limits; the worst case reserved against
         every budget) -> reserve a ledger record
      -> attempts (retries, fallbacks; the first byte commits)
      -> the answer, whole or relayed as it streams, while usage is read from it
      -> settle the record (usage, cost, attempts, timings, route), then the budget
         reservation with the real cost; maybe a shadow copy

HTTP stays in `laneway.server`; this module knows requests, candidates and records.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping, Sequence

from laneway.clock import Clock, SystemClock
from laneway.gateway.admission import Admission, Hold
from laneway.gateway.attempts import Attempts, AttemptsFailed, Committed, Sleep
from laneway.gateway.client import ANONYMOUS_CLIENT, Client
from laneway.gateway.pacing import Pacer
from laneway.gateway.settlement import Settler, read_whole
from laneway.gateway.shadows import Shadows
from laneway.gateway.upstream_errors import no_provider
from laneway.http.messages import Response, StreamResponse
from laneway.ids import new_id
from laneway.ledger.record import Attempt, LedgerRecord, RecordStatus
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.catalog import Catalog
from laneway.pricing.money import usd_str
from laneway.routing.breaker import Breakers, BreakerSettings
from laneway.routing.headroom import Headroom
from laneway.routing.lanes import LaneTable
from laneway.routing.observations import Observations
from laneway.routing.router import Plan, Router
from laneway.upstream.providers import Provider
from laneway.upstream.retry import RetryPolicy
from laneway.upstream.timeouts import TimeoutsConfig
from laneway.upstream.transport import BodyBroken
from laneway.wire.errors import ApiError
from laneway.wire.request import ApiRequest, Endpoint, read_request
from laneway.wire.stream_tap import StreamTap

MAX_LEDGER_BACKLOG = 2000
# Client headers an upstream may see; everything else (the client's key above all) stays here.
FORWARDED_HEADERS = (
    b"openai-beta",
    b"idempotency-key",
    b"x-client-request-id",
    b"x-emulator-fault",
)


class Gateway:
    def __init__(
        self,
        providers: Sequence[Provider],
        catalog: Catalog,
        ledger: LedgerWriter,
        *,
        lanes: LaneTable | None = None,
        fallbacks: Mapping[str, Sequence[str]] | None = None,
        retry: RetryPolicy | None = None,
        durable_reservations: bool = False,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        timeouts: TimeoutsConfig | None = None,
        breaker: BreakerSettings | None = None,
        observations: Observations | None = None,
        admission: Admission | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.providers = list(providers)
        self.admission = admission
        self.catalog = catalog
        self.ledger = ledger
        self._durable = durable_reservations
        self._clock = clock or SystemClock()
        rng = rng or random.Random()  # noqa: S311 - jitter, canary arms, shadow samples
        self.router = Router(
            lanes or LaneTable(),
            self.providers,
            catalog,
            breakers=Breakers(self._clock, breaker),
            headroom=Headroom(self._clock),
            observations=observations or Observations(),
            fallbacks=fallbacks,
            timeouts=timeouts,
            rng=rng,
        )
        self._attempts = Attempts(
            retry or RetryPolicy(),
            self._clock,
            rng,
            sleep,
            self.router.breakers,
            self.router.headroom,
            pacer,
        )
        self._settler = Settler(catalog, self._clock)
        self._shadows = Shadows(self._attempts, self._settler, ledger, self._clock, rng)

    async def handle(
        self,
        endpoint: Endpoint,
        body: bytes,
        *,
        client: Client = ANONYMOUS_CLIENT,
        headers: Mapping[bytes, bytes] | None = None,
    ) -> Response | StreamResponse:
        """Answer one API call. Errors are raised as `ApiError`, with laneway's headers."""
        started = self._clock.monotonic()
        request = read_request(endpoint, body)
        header_lane = headers.get(b"x-laneway-lane") if headers else None
        plan = self.router.plan(
            request,
            key_id=client.key_id,
            key_lane=client.default_lane,
            header_lane=header_lane.decode("latin-1") if header_lane else None,
        )
        if not plan.candidates:
            raise no_provider(request.model)
        record_id = new_id("req")
        hold = None
        admission = self.admission
        if admission is not None:
            admission.check_access(client, request, plan)
            # The reservation is named after the ledger record, so a reconcile step can match
            # one against the other.
            if admission.immediate:
                hold = admission.admit_now(client, plan, record_id)
            else:
                hold = await admission.admit(client, plan, record_id)
        record = LedgerRecord(
            id=record_id,
            created_at=self._clock.time(),
            key_id=client.key_id,
            endpoint=endpoint,
            requested_model=request.model,
            stream=request.stream,
            lane=plan.lane.name if plan.lane is not None else None,
        )
        # Not durable: the request waits for its reservation's commit only when the writer
        # falls behind (so memory stays bounded); else nobody waits, and the reservation may
        # ride along with others' commits.
        reserved = None
        if self._durable or self.ledger.backlog > MAX_LEDGER_BACKLOG:
            reserved = self.ledger.reserve(record, lazy=not self._durable)
        else:
            self.ledger.reserve_detached(record)
        attempts: list[Attempt] = []
        try:
            if reserved is not None:
                await asyncio.wrap_future(reserved)
            committed = await self._attempts.run(request, plan, _forwarded(headers), attempts)
        except AttemptsFailed as failed:
            error = failed.error
            record.attempts = tuple(attempts)
            record.route = plan.route.to_json()
            self._settler.failed(record, error.status, error.message, started)
            self._settle(record, hold)
            error.headers.update(_laneway_headers(record, len(attempts), plan))
            raise error from None
        except BaseException:  # cancelled: the client went away before any answer
            record.attempts = tuple(attempts)
            record.route = plan.route.to_json()
            self._settler.failed(record, 499, "the client closed the connection", started)
            self._settle(record, hold)
            raise
        record.attempts = tuple(attempts)
        record.ttfb_ms = (self._clock.monotonic() - started) * 1000
        plan.route.chosen = committed.candidate.label
        record.route = plan.route.to_json()
        if plan.lane is not None and plan.lane.shadow is not None:
            self._shadows.maybe_start(request, plan.lane, record)
        if committed.tap is None:
            return self._whole(request, plan, record, hold, committed, started)
        return StreamResponse(
            committed.response.status,
            self._relay(request, plan, record, hold, committed, committed.tap, started),
            self._answer_headers(record, committed, plan, cost=False),
        )

    def _whole(
        self,
        request: ApiRequest,
        plan: Plan,
        record: LedgerRecord,
        hold: Hold | None,
        committed: Committed,
        started: float,
    ) -> Response:
        document, usage, problem = read_whole(committed.body)
        self._settler.answered(record, committed, usage, problem, status="ok", started=started)
        self._settle(record, hold)
        self._observe(record)
        if document is not None and request.endpoint == "responses":
            self._remember(document.get("id"), committed)
        return Response(
            committed.response.status,
            committed.body,
            self._answer_headers(record, committed, plan, cost=True),
        )

    async def _relay(
        self,
        request: ApiRequest,
        plan: Plan,
        record: LedgerRecord,
        hold: Hold | None,
        committed: Committed,
        tap: StreamTap,
        started: float,
    ) -> AsyncIterator[bytes]:
        response = committed.response
        broken: str | None = None
        try:
            yield committed.first
            async for chunk in response.chunks():
                events = tap.feed(chunk)
                if events:
                    yield events
            if not tap.ended:
                # Any unfinished tail is dropped: half an event would garble the error event.
                broken = "the upstream stream ended without its final event"
            elif tail := tap.close():
                yield tail
        except BodyBroken as failure:
            broken = f"the upstream stream broke: {failure}"
        except BaseException:  # cancelled or closed: the client went away mid-stream
            broken = "the client closed the stream"
            raise
        finally:
            response.close()
            status: RecordStatus = "ok"
            problem = tap.usage_error
            if broken is not None:
                status, problem = "broken", broken
            elif not tap.completed:  # upstream ended it with its own failure or error event
                status, problem = "error", _upstream_failure(tap)
            self._settler.answered(
                record, committed, tap.usage, problem, status=status, started=started
            )
            self._settle(record, hold)
            self._observe(record)
            if request.endpoint == "responses":
                self._remember(tap.response_id, committed)
        if broken is not None:
            yield tap.error_event(
                ApiError(502, broken, type="server_error", code="upstream_stream_broken")
            )

    def _settle(self, record: LedgerRecord, hold: Hold | None) -> None:
        """The record first (the truth), then the budget reservation it replaces."""
        self.ledger.settle_detached(record)
        if hold is not None and self.admission is not None:
            self.admission.settle(hold, record)

    def _remember(self, response_id: object, committed: Committed) -> None:
        if isinstance(response_id, str):
            candidate = committed.candidate
            self.router.affinity.remember(response_id, candidate.provider.name, candidate.model)

    def _observe(self, record: LedgerRecord) -> None:
        """Feed a lane's answer to the profiles the cheapest policy prices with."""
        usage = record.usage
        if record.lane is None or usage is None or record.answering_model is None:
            return
        self.router.observations.add(
            record.lane,
            record.answering_model,
            output_tokens=usage.output_tokens,
            input_tokens=usage.input_tokens,
            cached_tokens=usage.cached_input_tokens,
        )

    def _answer_headers(
        self, record: LedgerRecord, committed: Committed, plan: Plan, *, cost: bool
    ) -> list[tuple[str, str]]:
        headers = list(_laneway_headers(record, len(record.attempts), plan).items())
        headers.append(("x-laneway-model", committed.candidate.model))
        headers.append(("x-laneway-provider", committed.candidate.provider.name))
        if cost:
            shown = usd_str(record.cost_usd) if record.cost_usd is not None else "unknown"
            headers.append(("x-laneway-cost-usd", shown))
        return headers

    async def close(self) -> None:
        await self._shadows.close()
        if self.admission is not None:
            await self.admission.close()
        for provider in self.providers:
            await provider.transport.close()


def _upstream_failure(tap: StreamTap) -> str:
    error = tap.upstream_error or {}
    detail = error.get("message") or error.get("code") or "no detail"
    return f"upstream ended the stream with an error: {detail}"


def _forwarded(headers: Mapping[bytes, bytes] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {
        name.decode(): headers[name].decode("latin-1")
        for name in FORWARDED_HEADERS
        if name in headers
    }


def _laneway_headers(record: LedgerRecord, attempts: int, plan: Plan) -> dict[str, str]:
    headers = {"x-laneway-request-id": record.id, "x-laneway-attempts": str(attempts)}
    if record.upstream_request_id:
        headers["x-request-id"] = record.upstream_request_id
    if plan.lane is not None:
        headers["x-laneway-lane"] = plan.lane.name
    headers["x-laneway-route"] = plan.route.header()
    return headers
