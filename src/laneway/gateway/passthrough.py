"""Guarded passthrough: an allowed `/v1/*` path laneway does not price, forwarded as it is.

allowed?   the path and method match `[passthrough] paths` (else the server's 404)
granted?   a virtual key with `passthrough`, and no lanes, models, budgets or rate limits
           (a passthrough call names no model to check and has no price to hold against a
           budget); a configured key or an open gateway's caller when `static_keys` is on
                                              [refused: 403, a settled "refused" record]
forward    to the default (first) provider with its own key, never the client's; the
           client's content type and safe headers; the body as sent (multipart too)
relay      the status, a few safe headers and the body as it streams
record     endpoint "passthrough", the path, status, latency; cost unknown (None), with
           the reason: laneway cannot price what it cannot read
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass

from laneway.clock import Clock
from laneway.gateway.client import Client
from laneway.gateway.passthrough_paths import PathRules
from laneway.gateway.refusals import refusal_of
from laneway.ids import new_id
from laneway.ledger.record import Attempt, LedgerRecord
from laneway.ledger.writer import LedgerWriter
from laneway.quota.state import QuotaUnavailable
from laneway.upstream.providers import Provider
from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import BodyBroken, UpstreamFailure, UpstreamResponse
from laneway.wire.errors import ApiError, incorrect_api_key, limits_unavailable, permission_denied

ENDPOINT = "passthrough"
MODEL = "(passthrough)"  # the record's requested model: a passthrough call names none
UNPRICED = "passthrough: laneway cannot price this call"
# Client headers sent on (never authorization: the provider's key goes instead).
_FORWARDED = (b"content-type", b"accept", b"openai-beta", b"idempotency-key")
# Upstream headers relayed; the rest (cookies, the organization, hop-by-hop) stay here.
_RELAYED = frozenset(("content-disposition", "retry-after", "x-request-id", "openai-processing-ms"))
_RELAYED_PREFIX = "x-ratelimit-"


@dataclass(slots=True)
class Forwarded:
    """The upstream's answer to relay: status, headers, content type and the body's chunks."""

    status: int
    headers: list[tuple[str, str]]
    content_type: str
    chunks: AsyncIterator[bytes]
    record_id: str


class Passthrough:
    def __init__(
        self,
        rules: PathRules,
        provider: Provider | None,
        ledger: LedgerWriter,
        clock: Clock,
        timeouts: Timeouts,
        *,
        static_keys: bool = False,
        is_revoked: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        """`provider`: the default provider (None: no provider, so nothing is allowed);
        `is_revoked`: the shared state's revocation check (Redis), asked for every virtual key
        as admission asks it for API calls, so a key revoked elsewhere is refused at once."""
        self._rules = rules
        self._provider = provider
        self._ledger = ledger
        self._clock = clock
        self._timeouts = timeouts
        self._static_keys = static_keys
        self._is_revoked = is_revoked

    def allows(self, method: str, path: str) -> bool:
        """Whether `[passthrough] paths` opens this method and path at all."""
        return self._provider is not None and self._rules.allows(method, path)

    def granted(self, client: Client) -> bool:
        key = client.key
        if key is None:  # a configured key, or anyone on an open gateway
            return self._static_keys
        return (
            key.passthrough
            and key.unrestricted
            and not key.budgets
            and key.rpm is None
            and key.tpm is None
        )

    async def forward(
        self,
        client: Client,
        method: str,
        path: str,
        query: str,
        headers: Mapping[bytes, bytes],
        body: bytes,
    ) -> Forwarded:
        """Forward an allowed call; 403 (on record) for a client not granted passthrough, 502
        or 504 (on record) when the provider gives no answer."""
        provider = self._provider
        started = self._clock.monotonic()
        record = LedgerRecord(
            id=new_id("req"),
            created_at=self._clock.time(),
            key_id=client.key_id,
            endpoint=ENDPOINT,
            requested_model=MODEL,
            stream=False,
            path=path,
        )
        if provider is None or not self.granted(client):
            who = client.key.prefix if client.key is not None else "a configured key"
            error = permission_denied(
                f"This key ({who}) is not granted passthrough: {method} {path} is open only to "
                "keys granted it, with no lanes, models, budgets or rate limits."
            )
            self._refused(record, error, started)
            raise error
        if client.prefix is not None and self._is_revoked is not None:
            await self._check_revoked(client.prefix, record, started)
        record.provider = provider.name
        self._ledger.reserve(record, wait=False)
        url = provider.base_url + path.removeprefix("/v1") + (f"?{query}" if query else "")
        try:
            response = await provider.transport.send(
                url, self._headers(provider, headers), body, self._timeouts, method=method.encode()
            )
        except UpstreamFailure as failure:
            self._settle(record, started, failure.status, f"{UNPRICED}; {failure}")
            raise ApiError(
                failure.status,
                f"{provider.name} gave no answer: {failure}",
                type="server_error",
                code=failure.code,
            ) from None
        record.upstream_request_id = response.headers.get("x-request-id")
        record.ttfb_ms = (self._clock.monotonic() - started) * 1000
        return Forwarded(
            response.status,
            _relayed(response.headers),
            response.headers.get("content-type", "application/octet-stream"),
            self._relay(record, response, started),
            record.id,
        )

    async def _check_revoked(self, prefix: str, record: LedgerRecord, started: float) -> None:
        assert self._is_revoked is not None  # noqa: S101 - the caller checked
        try:
            revoked = await self._is_revoked(prefix)
        except QuotaUnavailable:  # fails closed: the grant cannot be confirmed
            revoked = None
        if revoked is False:
            return
        error = (
            limits_unavailable()
            if revoked is None
            else incorrect_api_key(": this key has been revoked.")
        )
        self._refused(record, error, started)
        raise error

    def _headers(self, provider: Provider, headers: Mapping[bytes, bytes]) -> dict[str, str]:
        sent = {
            name.decode(): headers[name].decode("latin-1") for name in _FORWARDED if name in headers
        }
        authorization = provider.headers.get("authorization")
        if authorization is not None:
            sent["authorization"] = authorization
        return sent

    async def _relay(
        self, record: LedgerRecord, response: UpstreamResponse, started: float
    ) -> AsyncIterator[bytes]:
        status, problem = response.status, UNPRICED
        try:
            async for chunk in response.chunks():
                yield chunk
        except BodyBroken as failure:
            problem = f"{UNPRICED}; the upstream body broke: {failure}"
            raise
        except BaseException:
            problem = f"{UNPRICED}; the client left before the end"
            raise
        finally:
            response.close()
            self._settle(record, started, status, problem)

    def _settle(self, record: LedgerRecord, started: float, status: int, problem: str) -> None:
        record.status = "ok" if 200 <= status < 400 and problem == UNPRICED else "error"
        record.http_status = status
        record.error = problem
        record.cost_basis = "no_usage"
        provider = record.provider or ""
        record.attempts = (Attempt(provider, MODEL, status, self._since(started)),)
        record.latency_ms = self._since(started)
        record.settled_at = self._clock.time()
        self._ledger.settle(record, wait=False)

    def _refused(self, record: LedgerRecord, error: ApiError, started: float) -> None:
        record.status = "refused"
        record.http_status = error.status
        record.error = error.message
        record.refusal = refusal_of(error)
        record.latency_ms = self._since(started)
        record.settled_at = self._clock.time()
        self._ledger.settle(record, wait=False)
        error.meta = record

    def _since(self, started: float) -> float:
        return (self._clock.monotonic() - started) * 1000


def _relayed(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    return [
        (name.lower(), value)
        for name, value in headers.items()
        if name.lower() in _RELAYED or name.lower().startswith(_RELAYED_PREFIX)
    ]
