"""Trying candidates in order, with retries, until one answers: the gateway's resilience.

Each candidate gets up to `policy.max_attempts` tries (retries wait as `decide()` says, within the
provider's retry budget); a failure that another deployment may not share (429, 5xx, a timeout,
no connection, 404 `model_not_found`) then moves on to the next candidate. Anything else (400,
401, 403...) goes back to the client at once. An answer is committed, and no other candidate
tried, once its first byte is about to reach the client: for a stream, its first whole event.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from laneway.clock import Clock
from laneway.gateway.providers import Candidate
from laneway.gateway.upstream_errors import from_upstream, no_answer
from laneway.ledger.record import Attempt
from laneway.upstream.retry import RetryPolicy, decide
from laneway.upstream.timeouts import Timeouts, default_timeouts
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


class AttemptsFailed(Exception):
    """Every candidate failed; `error` is what the client gets."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class Attempts:
    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        rng: random.Random,
        sleep: Sleep,
        timeouts: Callable[[str | None], Timeouts] = default_timeouts,
    ) -> None:
        self._policy = policy
        self._timeouts = timeouts
        self._clock = clock
        self._rng = rng
        self._sleep = sleep

    async def run(
        self,
        request: ApiRequest,
        candidates: Sequence[Candidate],
        headers: Mapping[str, str],
        log: list[Attempt],
    ) -> Committed:
        """Try `candidates` in order; each try is appended to `log` as it ends."""
        if not candidates:
            raise ValueError("no candidates to try")
        timeouts = self._timeouts(request.effort)
        last: ApiError | None = None
        for candidate in candidates:
            provider = candidate.provider
            provider.retry_budget.record_request()
            body = request.upstream_body(candidate.model)
            sent_headers = {**provider.headers, **headers} if headers else provider.headers
            url = provider.url(request.endpoint)
            tries = 0
            while True:
                tries += 1
                started = self._clock.monotonic()
                status: int | None = None
                answer_headers: Mapping[str, str] = _NO_HEADERS
                try:
                    response = await provider.transport.send(url, sent_headers, body, timeouts)
                    status = response.status
                    answer_headers = response.headers
                    if 200 <= status < 300:
                        committed = await self._commit(request, candidate, response)
                        log.append(self._attempt(candidate, status, started))
                        return committed
                    error_body = await response.read()
                    response.close()
                    last = from_upstream(status, error_body, answer_headers, candidate)
                    log.append(self._attempt(candidate, status, started, last.code or "error"))
                except UpstreamFailure as failure:
                    reason = _reason(failure)
                    log.append(self._attempt(candidate, status, started, reason))
                    last = no_answer(candidate, reason, timed_out=failure.timed_out)
                    status = None  # no usable answer, even where a head came first
                decision = decide(
                    self._policy,
                    attempt=tries,
                    status=status,
                    headers=answer_headers,
                    now=self._clock.time(),
                    rng=self._rng,
                )
                if decision.retry and provider.retry_budget.try_spend():
                    await self._sleep(decision.delay_s)
                    continue
                if not _falls_over(status, last.code):
                    raise AttemptsFailed(last)
                break  # the next candidate
        raise AttemptsFailed(last or ApiError(502, "no candidate answered"))

    async def _commit(
        self, request: ApiRequest, candidate: Candidate, response: UpstreamResponse
    ) -> Committed:
        try:
            if not request.stream:
                return Committed(candidate, response, body=await response.read())
            tap = StreamTap(request.endpoint, drop_usage_chunk=not request.client_wants_usage)
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
