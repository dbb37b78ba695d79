"""Background responses (`background: true`) are settled when they end, not when created.

The create answers "queued" (or "in_progress") with no usage: its record stays reserved, and so
does its budget reservation, until the response reaches a terminal status (completed,
incomplete, cancelled, failed). The gateway learns that from any response object it relays
for the id (a client's retrieve or cancel through it), or from its own poller: every `poll_s`
it retrieves the pending responses from their providers, `concurrency` at a time. Terminal, the
record is settled with the usage the provider reported and its exact cost (a cancelled one: what
the provider billed). A response still pending after `give_up_s` is dropped from the poll and
its record left reserved for `laneway reconcile`; so are those pending when the gateway stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from laneway.clock import Clock
from laneway.gateway.attempts import Committed
from laneway.gateway.observers import Exchange
from laneway.gateway.settlement import Settler, read_whole
from laneway.gateway.stored_responses import upstream_call
from laneway.upstream.timeouts import Timeouts
from laneway.wire.errors import ApiError

log = logging.getLogger(__name__)

PENDING = frozenset(("queued", "in_progress"))
_ENDED_OK = frozenset(("completed", "incomplete", "cancelled"))


@dataclass(frozen=True, slots=True)
class Polling:
    """How pending background responses are followed (config [background])."""

    timeouts: Timeouts  # for each retrieve (and a stored response's calls)
    poll_s: float = 5.0
    give_up_s: float = 86_400.0
    concurrency: int = 4


@dataclass(slots=True)
class _Pending:
    exchange: Exchange
    committed: Committed
    since: float  # clock.monotonic() at the create


class BackgroundSettlements:
    def __init__(
        self,
        settler: Settler,
        clock: Clock,
        polling: Polling,
        *,
        wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settler = settler
        self._clock = clock
        self._timeouts = polling.timeouts
        self._poll_s = polling.poll_s
        self._give_up_s = polling.give_up_s
        self._slots = asyncio.Semaphore(polling.concurrency)
        self._wait = wait
        self._pending: dict[str, _Pending] = {}
        self._poller: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def hold(self, response_id: str, exchange: Exchange, committed: Committed) -> None:
        """Keep `exchange`'s record reserved until the response ends; poll it meanwhile."""
        self._pending[response_id] = _Pending(exchange, committed, self._clock.monotonic())
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    def pending(self, response_id: str) -> bool:
        return response_id in self._pending

    def learned(self, response_id: str, body: bytes) -> None:
        """A response object read for `response_id`: settles its record if it has ended."""
        pending = self._pending.get(response_id)
        if pending is None:
            return
        document, usage, problem = read_whole(body)
        status = document.get("status") if document is not None else None
        if status is None or status in PENDING:
            return
        del self._pending[response_id]
        problems = [problem] if problem else []
        if status != "completed":
            problems.append(f"background response {status}")
        self._settler.answered(
            pending.exchange,
            pending.committed,
            usage,
            "; ".join(problems) or None,
            status="ok" if status in _ENDED_OK else "error",
        )

    async def poll_once(self) -> None:
        """Retrieve every pending response once (settling those that ended); drop those
        pending longer than `give_up_s`."""
        now = self._clock.monotonic()
        for response_id, pending in list(self._pending.items()):
            if now - pending.since > self._give_up_s:
                del self._pending[response_id]
                log.warning(
                    "background response %s still pending after %.0f s: record %s left "
                    "reserved for `laneway reconcile`",
                    response_id,
                    self._give_up_s,
                    pending.exchange.record.id,
                )
        await asyncio.gather(*(self._check(response_id) for response_id in list(self._pending)))

    async def close(self) -> None:
        """Stop polling; what is still pending stays reserved (`laneway reconcile`)."""
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)

    async def _poll(self) -> None:
        try:
            while self._pending:
                await self._wait(self._poll_s)
                await self.poll_once()
        finally:
            self._poller = None

    async def _check(self, response_id: str) -> None:
        pending = self._pending.get(response_id)
        if pending is None:
            return
        provider = pending.committed.candidate.provider
        async with self._slots:
            try:
                status, body = await upstream_call(
                    provider, b"GET", response_id, "", "", self._timeouts
                )
            except ApiError as error:
                log.info("background response %s not read: %s", response_id, error.message)
                return
        if status == 200:
            self.learned(response_id, body)
