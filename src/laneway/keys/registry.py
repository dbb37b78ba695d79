"""The virtual keys one replica serves: cached by prefix so a request never waits on the store.

- Start-up loads every key. A prefix not in the cache (a key created on another replica or by
  the CLI since) is read from the store once, off the event loop; a prefix the store does not
  know is remembered as unknown for `MISS_TTL_S`, so garbage keys cannot hammer the store.
- Every `refresh_s` the keys changed since the last read are re-read: revocations, rotations
  and expiries made elsewhere reach this replica within that time. With admission state in
  Redis a revocation is also refused at once, by the admission step (see gateway.admission).
- Changes made through this process (the admin API) are applied at once with `update`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from laneway.clock import Clock
from laneway.keys.model import VirtualKey
from laneway.keys.store import KeyStore

log = logging.getLogger(__name__)

MISS_TTL_S = 1.0
_MAX_MISSES = 10_000
_CLOCK_SLACK_S = 2.0  # re-read a little before the last read: writers' clocks differ slightly


class KeyRegistry:
    def __init__(self, store: KeyStore, clock: Clock, *, refresh_s: float = 5.0) -> None:
        self._store = store
        self._clock = clock
        self._refresh_s = refresh_s
        self._read_at = clock.time()
        self._by_prefix: dict[str, VirtualKey] = {}
        self._prefix_of: dict[str, str] = {}  # key id -> its current prefix
        self._misses: dict[str, float] = {}  # prefix -> unknown until
        for key in store.all():
            self.update(key)
        self._task: asyncio.Task[None] | None = None

    @property
    def any(self) -> bool:
        """Whether any virtual key exists: then anonymous callers are refused."""
        return bool(self._by_prefix)

    def cached(self, prefix: str) -> VirtualKey | None:
        return self._by_prefix.get(prefix)

    def by_id(self, key_id: str) -> VirtualKey | None:
        """The cached key with this id (its current prefix's)."""
        prefix = self._prefix_of.get(key_id)
        return None if prefix is None else self._by_prefix.get(prefix)

    def known_missing(self, prefix: str) -> bool:
        until = self._misses.get(prefix)
        return until is not None and until > self._clock.monotonic()

    async def fetch(self, prefix: str) -> VirtualKey | None:
        """The key with this prefix from the store (None if there is none), then cached."""
        if self.known_missing(prefix):
            return None
        key = await asyncio.to_thread(self._store.by_prefix, prefix)
        if key is None:
            if len(self._misses) >= _MAX_MISSES:
                self._misses.clear()
            self._misses[prefix] = self._clock.monotonic() + MISS_TTL_S
            return None
        self.update(key)
        return key

    def update(self, key: VirtualKey) -> None:
        """Take a key's latest state; a rotated key's old prefix stops finding it."""
        old = self._prefix_of.get(key.id)
        if old is not None and old != key.prefix:
            self._by_prefix.pop(old, None)
        self._prefix_of[key.id] = key.prefix
        self._by_prefix[key.prefix] = key
        self._misses.pop(key.prefix, None)

    async def refresh(self) -> int:
        """Re-read keys changed since the last read: read in a thread, applied on the loop."""
        started = self._clock.time()
        changed = await asyncio.to_thread(self._store.changed_since, self._read_at - _CLOCK_SLACK_S)
        for key in changed:
            self.update(key)
        self._read_at = started
        return len(changed)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.refresh()
            except Exception as error:  # noqa: BLE001 - a store hiccup must not stop refreshing
                log.warning("could not refresh virtual keys: %s", error)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
