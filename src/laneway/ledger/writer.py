"""Ledger writes off the request path: callers enqueue, one thread commits in batches.

`reserve()` and `settle()` cost a queue put and return a future that resolves once the write is
committed. A caller that must not call upstream before its reservation is durable awaits that
future (group commit: every request waiting then shares one transaction); one that accepts a
few milliseconds of exposure does not wait. The writer takes whatever has queued while the
previous commit ran, so batches grow with load and stay small when idle.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Literal

from laneway.ledger.record import LedgerRecord
from laneway.ledger.repository import LedgerRepository

log = logging.getLogger("laneway.ledger")

_Kind = Literal["reserve", "settle", "flush"]
_Op = tuple[_Kind, LedgerRecord | None, "Future[None]"]  # a flush carries no record
_STOP = None
_RETRIES = 3
_RETRY_PAUSE_S = 0.05


class LedgerWriter:
    def __init__(self, repository: LedgerRepository, *, max_batch: int = 1000) -> None:
        self._repository = repository
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="laneway-ledger", daemon=True)
        self._thread.start()

    def reserve(self, record: LedgerRecord) -> Future[None]:
        return self._put("reserve", record)

    def settle(self, record: LedgerRecord) -> Future[None]:
        return self._put("settle", record)

    def _put(self, kind: _Kind, record: LedgerRecord) -> Future[None]:
        if self._closed:
            raise RuntimeError("the ledger writer is closed")
        done: Future[None] = Future()
        # A snapshot: the caller goes on changing its record while the write waits its turn.
        self._queue.put((kind, copy.copy(record), done))
        return done

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything enqueued so far is committed (or has failed)."""
        marker: Future[None] = Future()
        self._queue.put(("flush", None, marker))
        marker.result(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Commit what is queued, then stop the thread. Further writes are refused."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch: list[_Op] = []
            stop = first is _STOP
            if first is not _STOP:
                batch.append(first)
            while len(batch) < self._max_batch and not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Op]) -> None:
        # Consecutive writes of one kind go in one call; order between kinds is kept, so a
        # reservation is never stored after its own settlement. A flush resolves in its turn.
        runs: list[tuple[_Kind, list[_Op]]] = []
        for op in batch:
            if runs and runs[-1][0] == op[0] != "flush":
                runs[-1][1].append(op)
            else:
                runs.append((op[0], [op]))
        for kind, ops in runs:
            records = [record for _, record, _ in ops if record is not None]
            error = None if kind == "flush" else self._write(kind, records)
            for _, _, done in ops:
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)

    def _write(
        self, kind: Literal["reserve", "settle"], records: list[LedgerRecord]
    ) -> Exception | None:
        if not records:
            return None
        write = self._repository.reserve if kind == "reserve" else self._repository.settle
        for attempt in range(1, _RETRIES + 1):
            try:
                write(records)
            except Exception as error:  # noqa: BLE001 - reported to every waiting caller
                log.warning(
                    "ledger %s of %d records failed (try %d): %s",
                    kind,
                    len(records),
                    attempt,
                    error,
                )
                if attempt == _RETRIES:
                    return error
                time.sleep(_RETRY_PAUSE_S * attempt)
            else:
                return None
        return None
