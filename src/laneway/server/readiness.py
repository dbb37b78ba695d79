"""`/readyz`: can this replica serve? Its ledger accepts writes, every upstream accepts a TCP
connection, and shared admission state (Redis) answers; with `on_unavailable = "open"` an
unreachable state is reported but does not make the replica unready, since it still serves.
Answers are cached briefly so a probing load balancer costs nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from laneway.ledger.writer import LedgerWriter
from laneway.quota.state import BudgetCharge, QuotaState
from laneway.upstream.providers import Provider

_TIMEOUT_S = 2.0
_CACHE_S = 1.0
# Reading a counter nobody charges is the cheapest real round trip through the state's own code.
_PROBE = BudgetCharge("readyz", "lifetime", 1, None)


class Readiness:
    def __init__(
        self,
        providers: Sequence[Provider],
        ledger: LedgerWriter,
        *,
        state: QuotaState | None = None,
        state_required: bool = True,
    ) -> None:
        self._providers = providers
        self._ledger = ledger
        self._state = state  # None: in-process state, nothing to reach
        self._state_required = state_required
        self._cached: tuple[float, bool, dict[str, Any]] | None = None

    async def check(self) -> tuple[bool, dict[str, Any]]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < _CACHE_S:
            return self._cached[1], self._cached[2]
        results = await asyncio.gather(
            self._ledger_ready(), *(self._reachable(provider) for provider in self._providers)
        )
        checks = {"ledger": results[0]}
        for provider, result in zip(self._providers, results[1:], strict=True):
            checks[f"provider:{provider.name}"] = result
        ready = all(result == "ok" for result in checks.values())
        if self._state is not None:
            checks["state"] = await self._state_ready(self._state)
            ready = ready and (checks["state"] == "ok" or not self._state_required)
        self._cached = (now, ready, checks)
        return ready, checks

    async def _ledger_ready(self) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._ledger.flush, _TIMEOUT_S), _TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            return f"failed: {type(error).__name__}"
        return "ok"

    async def _state_ready(self, state: QuotaState) -> str:
        try:
            await asyncio.wait_for(state.spend([_PROBE], time.time()), _TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - any failure means unreachable
            return f"unreachable: {type(error).__name__}"
        return "ok"

    async def _reachable(self, provider: Provider) -> str:
        parts = urlsplit(provider.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, port), _TIMEOUT_S
            )
        except (OSError, TimeoutError) as error:
            return f"unreachable: {type(error).__name__}"
        writer.close()
        return "ok"
