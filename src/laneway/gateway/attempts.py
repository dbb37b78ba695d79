"""Trying candidates in order, with retries, until one answers: the gateway's resilience.

Each candidate gets up to `policy.max_attempts` tries (retries wait as `decide()` says, within the
provider's retry budget); a failure that another deployment may not share (429, 5xx, a timeout,
no connection, 404 `model_not_found`) then moves on to the next candidate. Anything else (400,
401, 403...) goes back to the client at once. An answer is committed, and no other candidate
tried, once its first byte is about to reach the client: for a stream, its first whole event.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from laneway.clock import Clock
from laneway.gateway.observers import Exchange, Observers
from laneway.gateway.pacing import Pacer, paced_out, paced_reason
from laneway.gateway.upstream_errors import from_upstream, no_answer
from laneway.ledger.record import Attempt
from laneway.quota.state import Refusal
from laneway.routing.router import Plan
from laneway.upstream.health import Health
from laneway.upstream.providers import Candidate
from laneway.upstream.retry import RetryPolicy, decide, server_delay_s
from laneway.upstream.secrets import NO_SECRETS, Redactor
from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import (
    BodyBroken,
    NoAnswer,
    NotSent,
    UpstreamFailure,
    UpstreamResponse,
)
from laneway.wire.errors import ApiError
from laneway.wire.request import ApiRequest
from laneway.wire.stream_tap import StreamTap

Sleep = Callable[[float], Awaitable[None]]
_NO_HEADERS: Mapping[str, str] = {}


def _falls_over(status: int | None, code: str | None) -> bool:
    if status is None or status in (408, 429) or status >= 500:
        return True
    return status == 404 and code == "model_not_found"


@dataclass(slots=True)
class Committed:
    """The answer that goes to the client: whole (`body`) or a stream begun (`tap`, `first`)."""

    candidate: Candidate
    response: UpstreamResponse
    body: bytes = b""
    tap: StreamTap | None = None
    first: bytes = b""  # the stream's first whole events, already read


@dataclass(frozen=True, slots=True)
class _Send:
    url: str
    headers: Mapping[str, str]
    body: bytes
    timeouts: Timeouts
    tokens: int  # the request's rate-limit estimate on this candidate


@dataclass(frozen=True, slots=True)
class _Failed:
    error: ApiError
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    skipped: bool = False  # not sent at all (its circuit is open): go on to the next


@dataclass(frozen=True, slots=True)
class _PacedOut:
    """Among candidates held back by pacing: the one with room soonest."""

    candidate: Candidate
    refusal: Refusal

    @staticmethod
    def sooner(held: _PacedOut | None, candidate: Candidate, refusal: Refusal) -> _PacedOut:
        if held is None:
            return _PacedOut(candidate, refusal)
        mine, theirs = refusal.retry_after_s, held.refusal.retry_after_s
        if mine is not None and (theirs is None or mine < theirs):
            return _PacedOut(candidate, refusal)
        return held

    def error(self) -> ApiError:
        return paced_out(self.candidate, self.refusal)


class Attempts:
    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        rng: random.Random,
        sleep: Sleep,
        health: Health,
        observers: Observers,
        pacer: Pacer | None = None,
        redact: Redactor = NO_SECRETS,
    ) -> None:
        """`redact`: strikes the providers' keys from what upstreams answer on failure."""
        self._policy = policy
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self._breakers = health.breakers
        self._headroom = health.headroom
        self._observers = observers
        self._pacer = pacer
        self.redact = redact

    async def run(self, exchange: Exchange, headers: Mapping[str, str]) -> Committed:
        """Try the plan's candidates in order, each retried as the policy and its provider's
        retry budget allow; each try is appended to `exchange.attempts` as it ends. Raises the
        `ApiError` the client gets when none answers, or at once for a failure no other
        candidate can cure."""
        request, plan, pacer = exchange.request, exchange.plan, self._pacer
        if not plan.candidates:
            raise ValueError("no candidates to try")
        deadline = self._clock.monotonic() + pacer.max_wait_s if pacer is not None else 0.0
        last: ApiError | None = None
        paced: _PacedOut | None = None  # the soonest a candidate held back by pacing has room
        cap = plan.output_cap  # laneway's output cap (admission, under a budget), spliced in
        if cap is not None:
            exchange.record.output_cap = cap
        for candidate in plan.candidates:
            provider = candidate.provider
            provider.retry_budget.record_request()
            send = _Send(
                provider.url(request.endpoint),
                {**provider.headers, **headers} if headers else provider.headers,
                request.upstream_body(candidate.model, candidate.effort, cap),
                plan.timeouts,
                plan.tokens.get(candidate, 0),
            )
            tries = 0
            while True:
                tries += 1
                if pacer is not None:
                    refusal = await self._pace(pacer, candidate, send.tokens, deadline, plan)
                    if refusal is not None:
                        paced = self._paced_out(exchange, candidate, refusal, paced)
                        last = paced.error()
                        break  # spill to the next candidate
                outcome = await self._once(exchange, candidate, send)
                if isinstance(outcome, Committed):
                    return outcome
                last = outcome.error
                if outcome.skipped:
                    break
                delay = self._retry_delay(outcome, tries, candidate)
                if delay is not None:
                    await self._sleep(delay)
                    continue
                if not _falls_over(outcome.status, last.code):
                    raise last
                break  # the next candidate
        raise last or ApiError(502, "no candidate answered")

    def _retry_delay(self, failed: _Failed, tries: int, candidate: Candidate) -> float | None:
        """How long to wait before trying the same candidate again, or None not to."""
        decision = decide(
            self._policy,
            attempt=tries,
            status=failed.status,
            headers=failed.headers,
            now=self._clock.time(),
            rng=self._rng,
        )
        if decision.retry and candidate.provider.retry_budget.try_spend():
            return decision.delay_s
        return None

    def _paced_out(
        self, exchange: Exchange, candidate: Candidate, refusal: Refusal, held: _PacedOut | None
    ) -> _PacedOut:
        """An attempt pacing held back, on record; the candidate with room soonest so far."""
        reason = paced_reason(refusal)
        self._ended(exchange, Attempt(candidate.provider.name, candidate.model, None, 0.0, reason))
        return _PacedOut.sooner(held, candidate, refusal)

    async def _pace(
        self, pacer: Pacer, candidate: Candidate, tokens: int, deadline: float, plan: Plan
    ) -> Refusal | None:
        """Room for one attempt at `candidate` (waiting up to the deadline), noted in the route
        when it was waited for; the refusal when there was none in time. When the shared state
        is down and pacing fails closed, its 503 ends the request."""
        refusal, waited = await pacer.acquire(candidate, tokens, deadline)
        if refusal is None and waited > 0:
            plan.route.notes.append(f"waited {waited:.3f}s for {candidate.label}'s rate limits")
        return refusal

    def _ended(self, exchange: Exchange, attempt: Attempt) -> None:
        exchange.attempts.append(attempt)
        if self._observers.watch_attempts or exchange.followers is not None:
            self._observers.attempt_ended(exchange, attempt)

    async def _once(
        self, exchange: Exchange, candidate: Candidate, send: _Send
    ) -> Committed | _Failed:
        """One attempt, through the candidate's breaker, counted against its headroom."""
        provider, model = candidate.provider.name, candidate.model
        ticket = self._breakers.admit(provider, model)
        if ticket is None:  # opened since the plan was made (or no probe slot is free)
            self._ended(exchange, Attempt(provider, model, None, 0.0, "circuit open"))
            return _Failed(no_answer(candidate, "circuit open", timed_out=False), skipped=True)
        if self._observers.watch_attempts or exchange.followers is not None:
            self._observers.attempt_started(exchange, candidate)
        started = self._clock.monotonic()
        status: int | None = None
        self._headroom.take(provider, model, send.tokens)
        try:
            response = await candidate.provider.transport.send(
                send.url, send.headers, send.body, send.timeouts
            )
            status = response.status
            answer_headers = response.headers
            self._headroom.observe(provider, model, answer_headers)
            if 200 <= status < 300:
                committed = await self._commit(exchange.request, candidate, response)
                self._breakers.record(ticket, True)
                attempt = self._attempt(candidate, status, started)
                exchange.attempts.append(attempt)  # `_ended`, inline on the common path
                if self._observers.watch_attempts or exchange.followers is not None:
                    self._observers.attempt_ended(exchange, attempt)
                return committed
            error_body = await response.read()
            response.close()
            error = from_upstream(
                status, error_body, answer_headers, candidate, self.redact, exchange.plan.hint
            )
            self._ended(exchange, self._attempt(candidate, status, started, error.code or "error"))
            if status >= 500:
                self._breakers.record(ticket, False)
            elif status == 429:
                wait = server_delay_s(answer_headers, self._clock.time())
                self._headroom.observe_429(provider, model, wait or 1.0)
            return _Failed(error, status, answer_headers)
        except UpstreamFailure as failure:
            self._breakers.record(ticket, False)
            if not isinstance(failure, NotSent):  # it reached the provider, which may bill it
                exchange.record.cost_basis = "abandoned"
            reason = self.redact.text(_reason(failure))
            self._ended(exchange, self._attempt(candidate, status, started, reason))
            # No usable answer, even where a head came first.
            return _Failed(no_answer(candidate, reason, timed_out=failure.timed_out))
        except asyncio.CancelledError:  # the client left while this attempt was out
            exchange.record.cost_basis = "abandoned"
            raise
        finally:
            self._breakers.release(ticket)  # no verdict (4xx, cancelled): frees a probe slot

    async def _commit(
        self, request: ApiRequest, candidate: Candidate, response: UpstreamResponse
    ) -> Committed:
        try:
            endpoint = request.endpoint
            if not request.stream or endpoint == "embeddings":  # embeddings never stream
                return Committed(candidate, response, body=await response.read())
            tap = StreamTap(endpoint, drop_usage_chunk=not request.client_wants_usage)
            async for chunk in response.chunks():
                first = tap.feed(chunk)
                if first:
                    return Committed(candidate, response, tap=tap, first=first)
            raise BodyBroken("the stream ended before its first event")
        except BaseException:
            response.close()
            raise

    def _attempt(
        self, candidate: Candidate, status: int | None, started: float, error: str | None = None
    ) -> Attempt:
        latency_ms = (self._clock.monotonic() - started) * 1000
        return Attempt(candidate.provider.name, candidate.model, status, latency_ms, error)


def _reason(failure: UpstreamFailure) -> str:
    kind = {NotSent: "not sent", NoAnswer: "no answer", BodyBroken: "body broken"}
    return f"{kind.get(type(failure), 'failed')}: {failure}"
