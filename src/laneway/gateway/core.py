"""The gateway as a library: `await gateway.handle(endpoint, body, key_id=...)` returns the answer.

    request -> read the fields routing needs -> candidates (model, fallbacks, affinity)
      -> reserve a ledger record -> attempts (retries, fallbacks; the first byte commits)
      -> the answer, whole or relayed as it streams, while usage is read from it
      -> settle the record (usage, cost, attempts, timings)

HTTP stays in `laneway.server`; this module knows requests, candidates and records.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from laneway.clock import Clock, SystemClock
from laneway.gateway.affinity import Affinity
from laneway.gateway.attempts import Attempts, AttemptsFailed, Committed, Sleep
from laneway.gateway.providers import Candidate, Provider, candidates_for
from laneway.gateway.settlement import Settler, read_whole
from laneway.gateway.upstream_errors import no_provider
from laneway.http.messages import Response, StreamResponse
from laneway.ids import new_id
from laneway.ledger.record import Attempt, LedgerRecord, RecordStatus
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.catalog import Catalog
from laneway.pricing.money import usd_str
from laneway.upstream.retry import RetryPolicy
from laneway.upstream.timeouts import Timeouts, default_timeouts
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
        fallbacks: Mapping[str, Sequence[str]] | None = None,
        retry: RetryPolicy | None = None,
        durable_reservations: bool = False,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        timeouts: Callable[[str | None], Timeouts] = default_timeouts,
    ) -> None:
        self.providers = list(providers)
        self.catalog = catalog
        self.ledger = ledger
        self._by_name = {provider.name: provider for provider in self.providers}
        self._fallbacks = dict(fallbacks or {})
        self._durable = durable_reservations
        self._clock = clock or SystemClock()
        self._attempts = Attempts(
            retry or RetryPolicy(),
            self._clock,
            rng or random.Random(),  # noqa: S311 - backoff jitter, not a secret
            sleep,
            timeouts,
        )
        self._settler = Settler(catalog, self._clock)
        self._affinity = Affinity()

    def candidates(self, request: ApiRequest) -> list[Candidate]:
        if request.previous_response_id is not None:
            name = self._affinity.provider_of(request.previous_response_id)
            home = self._by_name.get(name) if name is not None else None
            if home is not None:  # the conversation lives there: no fallback elsewhere
                return [Candidate(home, request.model)]
        fallbacks = self._fallbacks.get(request.model, ())
        return candidates_for(self.providers, request.model, fallbacks)

    async def handle(
        self,
        endpoint: Endpoint,
        body: bytes,
        *,
        key_id: str | None = None,
        headers: Mapping[bytes, bytes] | None = None,
    ) -> Response | StreamResponse:
        """Answer one API call. Errors are raised as `ApiError`, with laneway's headers."""
        started = self._clock.monotonic()
        request = read_request(endpoint, body)
        candidates = self.candidates(request)
        if not candidates:
            raise no_provider(request.model)
        record = LedgerRecord(
            id=new_id("req"),
            created_at=self._clock.time(),
            key_id=key_id,
            endpoint=endpoint,
            requested_model=request.model,
            stream=request.stream,
        )
        # Not durable: nobody waits for the commit, so it may ride along with others' commits.
        reserved = self.ledger.reserve(record, lazy=not self._durable)
        attempts: list[Attempt] = []
        try:
            # Not durable: wait only when the writer falls behind, so memory stays bounded.
            if self._durable or self.ledger.backlog > MAX_LEDGER_BACKLOG:
                await asyncio.wrap_future(reserved)
            committed = await self._attempts.run(request, candidates, _forwarded(headers), attempts)
        except AttemptsFailed as failed:
            error = failed.error
            record.attempts = tuple(attempts)
            self._settler.failed(record, error.status, error.message, started)
            self.ledger.settle(record)
            error.headers.update(_laneway_headers(record, len(attempts)))
            raise error from None
        except BaseException:  # cancelled: the client went away before any answer
            record.attempts = tuple(attempts)
            self._settler.failed(record, 499, "the client closed the connection", started)
            self.ledger.settle(record)
            raise
        record.attempts = tuple(attempts)
        record.ttfb_ms = (self._clock.monotonic() - started) * 1000
        if committed.tap is None:
            return self._whole(request, record, committed, started)
        return StreamResponse(
            committed.response.status,
            self._relay(request, record, committed, committed.tap, started),
            self._answer_headers(record, committed, cost=False),
        )

    def _whole(
        self, request: ApiRequest, record: LedgerRecord, committed: Committed, started: float
    ) -> Response:
        document, usage, problem = read_whole(committed.body)
        self._settler.answered(record, committed, usage, problem, status="ok", started=started)
        self.ledger.settle(record)
        if document is not None and request.endpoint == "responses":
            self._remember(document.get("id"), committed)
        return Response(
            committed.response.status,
            committed.body,
            self._answer_headers(record, committed, cost=True),
        )

    async def _relay(
        self,
        request: ApiRequest,
        record: LedgerRecord,
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
            self.ledger.settle(record)
            if request.endpoint == "responses":
                self._remember(tap.response_id, committed)
        if broken is not None:
            yield tap.error_event(
                ApiError(502, broken, type="server_error", code="upstream_stream_broken")
            )

    def _remember(self, response_id: object, committed: Committed) -> None:
        if isinstance(response_id, str):
            self._affinity.remember(response_id, committed.candidate.provider.name)

    def _answer_headers(
        self, record: LedgerRecord, committed: Committed, *, cost: bool
    ) -> list[tuple[str, str]]:
        headers = list(_laneway_headers(record, len(record.attempts)).items())
        headers.append(("x-laneway-model", committed.candidate.model))
        headers.append(("x-laneway-provider", committed.candidate.provider.name))
        if cost:
            shown = usd_str(record.cost_usd) if record.cost_usd is not None else "unknown"
            headers.append(("x-laneway-cost-usd", shown))
        return headers

    async def close(self) -> None:
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


def _laneway_headers(record: LedgerRecord, attempts: int) -> dict[str, str]:
    headers = {"x-laneway-request-id": record.id, "x-laneway-attempts": str(attempts)}
    if record.upstream_request_id:
        headers["x-request-id"] = record.upstream_request_id
    return headers
