"""The capture writer: a thread of its own that takes sampled requests off a queue, claims each
a place under the day's cap, makes its row (parsed, redacted) and stores rows in batches; and
that applies the retention period, at most hourly. The request that was sampled only queued a
`Pending` (laneway.capture.pending): nothing here runs on its path.

A capture that fails (the store is down, the body cannot be read) is dropped and logged: it is a
sample, never the request's problem.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Final

from laneway.capture.day_cap import DAY_S, DayCap
from laneway.capture.pending import Pending, capture_row
from laneway.capture.redaction import Redactor
from laneway.clock import Clock
from laneway.ledger.captures import CaptureRow, CaptureStore

log = logging.getLogger(__name__)

PURGE_EVERY_S: Final = 3600.0
_STOP: Final = "stop"
_MAX_BATCH = 200
_MAX_QUEUED = 10_000  # past this, samples are dropped rather than held in memory


class CaptureWriter:
    def __init__(
        self,
        store: CaptureStore,
        day_cap: DayCap,
        redactor: Redactor,
        clock: Clock,
        *,
        retention_days: float,
    ) -> None:
        self._store = store
        self._day_cap = day_cap
        self._redactor = redactor
        self._clock = clock
        self._retention_s = retention_days * DAY_S
        self._queue: queue.SimpleQueue[Pending | Future[None] | str] = queue.SimpleQueue()
        # The UTC day whose cap was found reached: the observer samples nothing more that day.
        self.full_day = -1
        self.dropped = 0
        self._next_purge = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="laneway-capture", daemon=True)
        self._thread.start()

    def put(self, pending: Pending) -> None:
        if self._closed or self._queue.qsize() > _MAX_QUEUED:
            self.dropped += 1
            return
        self._queue.put(pending)

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait until everything queued so far is stored (or dropped)."""
        marker: Future[None] = Future()
        self._queue.put(marker)
        marker.result(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Store what is queued, then stop the thread and close the store and the cap."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._day_cap.close()
        self._store.close()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._until_purge())
            except queue.Empty:
                self._purge()
                continue
            batch: list[Pending | Future[None] | str] = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write([item for item in batch if isinstance(item, Pending)])
            self._purge()
            for item in batch:
                if isinstance(item, Future):
                    item.set_result(None)
            if _STOP in batch:
                return

    def _until_purge(self) -> float:
        return max(0.0, self._next_purge - self._clock.monotonic())

    def _write(self, pendings: list[Pending]) -> None:
        rows: list[CaptureRow] = []
        for pending in pendings:
            day = int(pending.created_at // DAY_S)
            if day == self.full_day:
                continue
            claimed = self._day_cap.claim(day)
            if not claimed:
                if claimed is False:
                    self.full_day = day
                continue
            try:
                row = capture_row(pending, self._redactor)
            except Exception:
                log.exception("capture of %s failed; dropped", pending.record_id)
                continue
            if row is not None:
                rows.append(row)
        try:
            self._store.add(rows)
        except Exception:
            self.dropped += len(rows)
            log.exception("capture: %d captured request(s) could not be stored", len(rows))

    def _purge(self) -> None:
        """Captures past the retention period deleted, at most once an hour."""
        if self._clock.monotonic() < self._next_purge:
            return
        self._next_purge = self._clock.monotonic() + PURGE_EVERY_S
        try:
            purged = self._store.purge(self._clock.time() - self._retention_s)
        except Exception:
            log.exception("capture: the retention purge failed; tried again in an hour")
            return
        if purged:
            log.info("capture: %d capture(s) past the retention period deleted", purged)
