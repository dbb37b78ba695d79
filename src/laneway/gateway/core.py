"""The gateway as a library: `await gateway.handle(endpoint, body, client=...)` gives an `Answer`.

    request -> read the fields routing needs -> routing.plan (lane, candidates, effort, why)
      -> admission (the key's lanes and models, rate limits; the worst case reserved against
         every budget)     [refused up to here: one settled "refused" record, observers: refused]
      -> open and reserve the ledger record (observers: request_started)
      -> attempts (retries, fallbacks; the first byte commits; observers: each attempt)
      -> the answer, whole or relayed as it streams, while usage is read from it
      -> settle the record (usage, cost, attempts, timings, route; observers: settled), then
         the budget reservation with the real cost; maybe a shadow copy

Build one with `laneway.build_gateway(config)`; HTTP stays in `laneway.server`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import traceback
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import NoReturn, Protocol

from laneway.clock import Clock
from laneway.gateway.admission import Admission, Hold
from laneway.gateway.answer import Answer
from laneway.gateway.attempts import Attempts, Committed, Sleep
from laneway.gateway.background import PENDING, BackgroundSettlements, Polling
from laneway.gateway.client import ANONYMOUS_CLIENT, Client
from laneway.gateway.estimate import broken_stream_usage
from laneway.gateway.observers import Exchange, Observer, Observers
from laneway.gateway.pacing import Pacer
from laneway.gateway.refusals import upstream_refusal
from laneway.gateway.settlement import Settler, read_whole
from laneway.gateway.shadows import Shadows
from laneway.gateway.stored_responses import ResponseCalls, ResponseHomes
from laneway.gateway.upstream_errors import no_provider
from laneway.ids import new_id
from laneway.ledger.record import RecordStatus
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.catalog import Catalog
from laneway.routing.router import Plan, Router
from laneway.upstream.health import Health
from laneway.upstream.providers import Provider
from laneway.upstream.retry import RetryPolicy
from laneway.upstream.secrets import Redactor, provider_redactor
from laneway.upstream.transport import BodyBroken
from laneway.wire.errors import ApiError, internal_error
from laneway.wire.replay_headers import REPEAT_HEADER
from laneway.wire.request import ApiRequest, Endpoint, read_request
from laneway.wire.stream_tap import StreamTap

log = logging.getLogger(__name__)

# Client headers an upstream may see; everything else (the client's key above all) stays here.
FORWARDED_HEADERS = (
    b"openai-beta",
    b"idempotency-key",
    b"x-client-request-id",
    b"x-emulator-fault",
    REPEAT_HEADER,  # replay: which repeat of a line, so each is a fresh draw
)


class Lifecycle(Protocol):
    """What the gateway was built on (stores, shared state, background tasks), started before
    it serves and closed after it: the composition root's business, not the gateway's."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class Gateway:
    def __init__(
        self,
        router: Router,
        health: Health,
        providers: Sequence[Provider],
        catalog: Catalog,
        ledger: LedgerWriter,
        admission: Admission,
        *,
        clock: Clock,
        rng: random.Random,
        sleep: Sleep = asyncio.sleep,
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        observers: Sequence[Observer] = (),
        durable_reservations: bool = False,
        learn: Callable[[Exchange], None] | None = None,
        lifecycle: Lifecycle | None = None,
        homes: ResponseHomes | None = None,
        polling: Polling | None = None,
    ) -> None:
        """`learn`: told of every settled record (routing's profiles and affinity). `homes`:
        where responses live and whose they are (None: no owner checks, and no stored
        response's calls); `polling`: how background responses are followed to their end."""
        self.router = router
        self.providers = tuple(providers)
        self.catalog = catalog
        self.observers = Observers(observers)
        self._traceparent = self.observers.want_traceparent
        self._admission = admission
        self._clock = clock
        self._lifecycle = lifecycle
        self._closed = False
        self._redact = provider_redactor(self.providers)
        self._attempts = Attempts(
            retry or RetryPolicy(),
            clock,
            rng,
            sleep,
            health,
            self.observers,
            pacer,
            self._redact,
        )
        self._settler = Settler(
            catalog,
            clock,
            ledger,
            admission,
            self.observers,
            learn=learn,
            durable=durable_reservations,
        )
        self.shadows = Shadows(self._attempts, self._settler, clock, rng)
        self._homes = homes
        self.background, self.response_calls = self._stored_responses(homes, polling)

    def _stored_responses(
        self, homes: ResponseHomes | None, polling: Polling | None
    ) -> tuple[BackgroundSettlements | None, ResponseCalls | None]:
        """Background settlements and a stored response's calls (both need both)."""
        if homes is None or polling is None:
            return None, None
        background = BackgroundSettlements(self._settler, self._clock, polling)
        calls = ResponseCalls(
            homes,
            self.providers,
            polling.timeouts,
            background.learned,
            background.pending,
            self._redact,
        )
        return background, calls

    async def handle(
        self,
        endpoint: Endpoint,
        body: bytes,
        *,
        client: Client = ANONYMOUS_CLIENT,
        headers: Mapping[bytes, bytes] | None = None,
    ) -> Answer:
        """Answer one API call. Errors are raised as `ApiError`; once the request has a record,
        the error's `meta` names it."""
        started = self._clock.monotonic()
        request: ApiRequest | None = None
        plan: Plan | None = None
        try:  # free unless raised (3.11): refusals are recorded on their own, rare, path
            request = read_request(endpoint, body)
            if self._traceparent and headers:
                request.traceparent = headers.get(b"traceparent")
            previous = request.previous_response_id
            if previous is not None and self._homes is not None:
                await self._homes.check_follow_up(client, previous)  # the key's own, or 400
            plan = self._plan(request, client, headers)
            # The reservation is named after the ledger record, so a reconcile step can match
            # one against the other.
            record_id = new_id("req")
            admission = self._admission
            admission.check_access(client, request, plan)
            hold = admission.admit(client, plan, record_id)
            if hold is not None and not isinstance(hold, Hold):
                hold = await hold
        except ApiError as error:
            traceparent = self._refused_traceparent(headers)
            self._settler.refused(endpoint, request, plan, client, error, started, traceparent)
            raise
        settler = self._settler
        exchange, reserved = settler.open(request, client, plan, record_id, started, hold)
        try:
            if reserved is not None:
                await asyncio.wrap_future(reserved)
            committed = await self._attempts.run(exchange, _forwarded(headers))
        except ApiError as error:
            refusal = upstream_refusal(error, exchange.attempts)
            settler.failed(exchange, error.status, error.message, refusal)
            error.meta = exchange.meta
            raise
        except BaseException as failure:  # noqa: BLE001 - recorded, then raised again
            self._unanswered(exchange, failure)
        settler.committed(exchange, committed)
        lane = plan.lane
        if lane is not None and lane.shadow is not None:
            self.shadows.maybe_start(exchange, lane)
        if committed.tap is None:
            return self._whole(exchange, committed)
        return Answer(
            committed.response.status,
            exchange.meta,
            stream=self._relay(exchange, committed, committed.tap),
        )

    def _plan(
        self, request: ApiRequest, client: Client, headers: Mapping[bytes, bytes] | None
    ) -> Plan:
        header_lane = headers.get(b"x-laneway-lane") if headers else None
        plan = self.router.plan(
            request,
            key_id=client.key_id,
            key_lane=client.default_lane,
            header_lane=header_lane.decode("latin-1") if header_lane else None,
        )
        if not plan.candidates:
            raise no_provider(request.model, plan.hint)
        return plan

    def _unanswered(self, exchange: Exchange, failure: BaseException) -> NoReturn:
        """Record a request that ended without an answer and not on an ApiError, and raise:
        `failure` itself, or for laneway's own failure (a bug) OpenAI's generic 500. Only a
        cancellation is the client's doing (499); anything else is laneway's (500)."""
        settler = self._settler
        if isinstance(failure, asyncio.CancelledError):  # the client went away
            settler.failed(exchange, 499, "the client closed the connection")
            raise failure
        if not isinstance(failure, Exception):  # the process is stopping
            settler.failed(exchange, 500, "laneway stopped during the request")
            raise failure
        settler.failed(exchange, 500, _failed_text(failure))
        _logged(failure, self._redact, exchange.record.id)
        answer = internal_error()
        answer.meta = exchange.meta
        raise answer from failure

    def _whole(self, exchange: Exchange, committed: Committed) -> Answer:
        document, usage, problem = read_whole(committed.body)
        if document is not None and exchange.request.endpoint == "responses":
            response_id = document.get("id")
            if isinstance(response_id, str):
                exchange.response_id = response_id
                background = self.background
                if background is not None and document.get("status") in PENDING:
                    return self._pending(background, exchange, committed, response_id)
        if exchange.gather:
            exchange.chunks = [committed.body]
        self._settler.answered(exchange, committed, usage, problem, status="ok")
        return Answer(committed.response.status, exchange.meta, committed.body)

    def _pending(
        self,
        background: BackgroundSettlements,
        exchange: Exchange,
        committed: Committed,
        response_id: str,
    ) -> Answer:
        """A background response, not yet ended: its home learned now (its calls and
        follow-ups find it), its record and budget reservation held until it ends."""
        exchange.record.response_id = response_id
        self._settler.learn(exchange)
        background.hold(response_id, exchange, committed)
        return Answer(committed.response.status, exchange.meta, committed.body)

    async def _relay(
        self, exchange: Exchange, committed: Committed, tap: StreamTap
    ) -> AsyncIterator[bytes]:
        response = committed.response
        chunks = exchange.chunks = [] if exchange.gather else None
        broken: str | None = None
        ending = b""  # laneway's error event for a stream upstream broke off
        try:
            if chunks is not None:
                chunks.append(committed.first)
            yield committed.first
            async for chunk in response.chunks():
                events = self._events(tap, chunk)
                if events:
                    if chunks is not None:
                        chunks.append(events)
                    yield events
            if not tap.ended:
                # Any unfinished tail is dropped: half an event would garble the error event.
                broken = "the upstream stream ended without its final event"
                ending = _broken_event(tap, broken, chunks)
            elif tail := tap.close():
                if chunks is not None:
                    chunks.append(tail)
                yield tail
        except BodyBroken as failure:
            broken = self._redact.text(f"the upstream stream broke: {failure}")
            ending = _broken_event(tap, broken, chunks)
        except (asyncio.CancelledError, GeneratorExit):  # the client went away mid-stream
            broken = "the client closed the stream"
            raise
        except Exception as failure:  # noqa: BLE001 - laneway's own failure mid-stream (a bug)
            _logged(failure, self._redact, exchange.record.id)
            broken = _failed_text(failure)
            ending = _broken_event(tap, broken, chunks, internal=True)
        finally:
            response.close()
            self._stream_settled(exchange, committed, tap, broken)
        if ending:
            yield ending

    def _events(self, tap: StreamTap, chunk: bytes) -> bytes:
        events = tap.feed(chunk)
        if tap.upstream_error is not None or tap.failed:  # its error may quote a key: struck
            return self._redact.data(events)
        return events

    def _stream_settled(
        self, exchange: Exchange, committed: Committed, tap: StreamTap, broken: str | None
    ) -> None:
        status: RecordStatus = "ok"
        problem = tap.usage_error
        usage, estimated = tap.usage, False
        if broken is not None:
            status, problem = "broken", broken
            if usage is None:  # the provider billed what it generated: estimate it
                usage, estimated = broken_stream_usage(exchange.request, tap), True
        elif not tap.completed:  # upstream ended it with its own failure or error event
            status, problem = "error", self._redact.text(_upstream_failure(tap))
        if exchange.request.endpoint == "responses":
            exchange.response_id = tap.response_id
        self._settler.answered(
            exchange, committed, usage, problem, status=status, estimated=estimated
        )

    def refuse(
        self,
        endpoint: Endpoint,
        body: bytes,
        client: Client,
        error: ApiError,
        headers: Mapping[bytes, bytes] | None = None,
    ) -> None:
        """Record `error`, answered to an identified client before `handle` was called (the
        server's 401 for a revoked or expired virtual key): a settled "refused" record under
        the key's id, as `handle` records its own refusals."""
        try:
            request: ApiRequest | None = read_request(endpoint, body)
        except ApiError:
            request = None
        started, traceparent = self._clock.monotonic(), self._refused_traceparent(headers)
        self._settler.refused(endpoint, request, None, client, error, started, traceparent)

    def _refused_traceparent(self, headers: Mapping[bytes, bytes] | None) -> bytes | None:
        """The caller's `traceparent`, for the observers of a refusal that want it."""
        return headers.get(b"traceparent") if self._traceparent and headers else None

    async def start(self) -> None:
        """Before serving: what it was built on is started (budgets seeded from the ledger,
        other replicas' breaker states read)."""
        if self._lifecycle is not None:
            await self._lifecycle.start()

    async def close(self) -> None:
        """Let shadows go, settle what is in flight, close transports and what it was built on."""
        if self._closed:
            return
        self._closed = True
        await self.shadows.close()
        if self.background is not None:
            await self.background.close()
        await self._admission.close()
        for provider in self.providers:
            await provider.transport.close()
        if self._lifecycle is not None:
            await self._lifecycle.close()

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()


def _broken_event(
    tap: StreamTap, broken: str, chunks: list[bytes] | None, *, internal: bool = False
) -> bytes:
    """The error event that ends a stream upstream broke off, or laneway's own failure cut
    short (observers see it too)."""
    if internal:
        error = internal_error()
    else:
        error = ApiError(502, broken, type="server_error", code="upstream_stream_broken")
    event = tap.error_event(error)
    if chunks is not None:
        chunks.append(event)
    return event


def _failed_text(failure: Exception) -> str:
    """What the record says of laneway's own failure: its kind, never its text (which may hold
    anything, a secret included); the log has the rest."""
    return f"laneway failed: {type(failure).__name__} (a server error; see the log)"


def _logged(failure: Exception, redact: Redactor, record_id: str) -> None:
    """Log laneway's own failure with its traceback, upstream secrets struck from it."""
    trace = "".join(traceback.format_exception(failure))
    log.error("request %s failed inside laneway:\n%s", record_id, redact.text(trace))


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
