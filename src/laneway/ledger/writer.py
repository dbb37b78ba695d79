"""Ledger writes off the request path: callers enqueue, one thread commits in batches.

`reserve()` and `settle()` cost a queue put and, by default, return a future that resolves once
the write is committed. A caller that must not call upstream before its reservation is durable
awaits that future (group commit: every request waiting then shares one transaction); one that
accepts a few milliseconds of exposure passes `wait=False`: no future to make and resolve (a
future is a dozen objects, and the collector's work per request grew with them), and a failed
write is logged with its record's id.
The writer takes whatever has queued while the previous commit ran, so batches grow with load
and stay small when idle.

Each batch is one transaction, and on one core a transaction costs far more than the rows in
it, so the writer makes fewer of them:
- a settlement does not wake the thread: it waits, at most `settle_delay_s`, for the next
  reservation's commit (or a flush) to ride along with;
- a record reserved and settled within one batch is written once, settled: the end state of
  insert-then-replace, at half the cost. Its reservation's future still resolves only after
  that commit.

Counts of unauthenticated requests (laneway.ledger.unauthenticated) come the same way, lazily, as
one op per handful of (minute, reason, client, n): added to the stored counts (an upsert, count
+= n) alongside the batch's records, never replacing them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Final, Literal, overload

from laneway.ledger.record import LedgerRecord, Row, to_row
from laneway.ledger.repository import LedgerRepository, LedgerUnavailable

log = logging.getLogger(__name__)

_Kind = Literal["reserve", "settle", "flush", "count"]
# A flush carries no row; a detached write no future (its failure is logged instead). A count
# carries its (minute, reason, client, n) tuples where a row would be.
_Op = tuple[_Kind, Row | None, "Future[None] | None"]
_STOP: Final = "stop"
_WAKE: Final = "wake"  # a settlement came while the thread slept with nothing to wait for
_RETRIES = 3
_RETRY_PAUSE_S = 0.05
_GIVE_UP_AFTER = 3  # single-row writes failing in a row: the store is failing, not one row
_NAMED = 10  # failed writes nobody waits for, named in the log line (the rest counted)


class LedgerWriter:
    def __init__(
        self,
        repository: LedgerRepository,
        *,
        max_batch: int = 1000,
        settle_delay_s: float = 0.005,
    ) -> None:
        self._repository = repository
        self._max_batch = max_batch
        self._settle_delay_s = settle_delay_s
        self._queue: queue.SimpleQueue[_Op | str] = queue.SimpleQueue()
        self._settles: deque[_Op] = deque()  # waiting to ride along; appends are thread-safe
        self._idle = False  # the thread sleeps until the queue wakes it, with no time limit
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="laneway-ledger", daemon=True)
        self._thread.start()

    @overload
    def reserve(
        self, record: LedgerRecord, *, wait: Literal[True] = True, lazy: bool = False
    ) -> Future[None]: ...

    @overload
    def reserve(self, record: LedgerRecord, *, wait: Literal[False]) -> None: ...

    def reserve(
        self, record: LedgerRecord, *, wait: bool = True, lazy: bool = False
    ) -> Future[None] | None:
        """Queue a reservation. `wait`: return a future that resolves once it is committed;
        else nobody waits (its failure is logged) and it is lazy. `lazy`: it may wait, like a
        settlement, up to `settle_delay_s` for company instead of waking the thread."""
        return self._enqueue("reserve", record, wait=wait, lazy=lazy or not wait)

    @overload
    def settle(self, record: LedgerRecord, *, wait: Literal[True] = True) -> Future[None]: ...

    @overload
    def settle(self, record: LedgerRecord, *, wait: Literal[False]) -> None: ...

    def settle(self, record: LedgerRecord, *, wait: bool = True) -> Future[None] | None:
        """Queue a settlement (always lazy). `wait` as for `reserve`."""
        return self._enqueue("settle", record, wait=wait, lazy=True)

    def add_unauthenticated(self, counts: Sequence[tuple[float, str, str, int]]) -> None:
        """Queue counts of unauthenticated requests, to be added to the stored ones (lazily,
        like a settlement; a failure is logged)."""
        if self._closed:
            raise RuntimeError("the ledger writer is closed")
        if not counts:
            return
        op: _Op = ("count", tuple(counts), None)
        if self._settle_delay_s > 0:
            self._later(op)
        else:
            self._queue.put(op)

    def _enqueue(
        self, kind: _Kind, record: LedgerRecord, *, wait: bool, lazy: bool
    ) -> Future[None] | None:
        if self._closed:
            raise RuntimeError("the ledger writer is closed")
        # A future is a dozen objects: made only for a caller that waits.
        done: Future[None] | None = Future() if wait else None
        try:
            # The row is the snapshot (the caller goes on changing its record while the write
            # waits its turn): built once, here, instead of a copy now and a row later.
            row = to_row(record)
        except Exception as error:  # noqa: BLE001 - reported as a failed write would be
            _resolve(done, error, record.id)
            return done
        op = (kind, row, done)
        if lazy and self._settle_delay_s > 0:
            self._later(op)
        else:
            self._queue.put(op)
        return done

    def _later(self, op: _Op) -> None:
        self._settles.append(op)
        if self._idle:  # else the thread is busy or already counting down the delay
            self._idle = False
            self._queue.put(_WAKE)

    @property
    def backlog(self) -> int:
        """Writes queued and not yet taken by the thread (approximate, for backpressure)."""
        return self._queue.qsize() + len(self._settles)

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
        waiting = self._settles
        due_at = 0.0  # when the oldest waiting settlement must be committed
        while True:
            due = False
            if waiting:
                if due_at == 0.0:
                    due_at = time.monotonic() + self._settle_delay_s
                try:
                    first = self._queue.get(timeout=max(0.0, due_at - time.monotonic()))
                except queue.Empty:
                    first, due = _WAKE, True
            else:
                self._idle = True
                if waiting:  # appended before the flag was set: nobody will wake us for it
                    self._idle = False
                    continue
                first = self._queue.get()
                self._idle = False
            batch, stop = self._take(first)
            if not batch and not stop and not due:
                continue  # only wake-ups: the settlements wait for company or their time
            while waiting:
                batch.append(waiting.popleft())
            due_at = 0.0
            try:
                self._commit(batch)
            except Exception as error:  # a bug must not stop the thread: later writes would hang
                log.exception("ledger batch of %d writes failed", len(batch))
                _fail(batch, error)
            if stop:
                return

    def _take(self, item: _Op | str) -> tuple[list[_Op], bool]:
        """`item` and whatever else is queued, up to `max_batch`; and whether to stop after."""
        get = self._queue.get_nowait
        batch: list[_Op] = []
        while True:
            if not isinstance(item, str):
                batch.append(item)
            elif item is _STOP:
                return batch, True
            if len(batch) >= self._max_batch:
                return batch, False
            try:
                item = get()
            except queue.Empty:
                return batch, False

    def _commit(self, batch: list[_Op]) -> None:
        reserve, settle, counts = _sorted(batch)
        if counts:
            self._count(counts)
        error = self._write(list(reserve.values()), list(settle.values()))
        if error is None:
            for _, _, done in batch:
                if done is not None:
                    _resolve(done, None)
        elif isinstance(error, LedgerUnavailable):  # the store is down, not one row bad
            _fail(batch, error)
        else:
            self._one_by_one(batch, error)

    def _write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> Exception | None:
        if not reserve and not settle:
            return None
        for attempt in range(1, _RETRIES + 1):
            try:
                self._repository.write(reserve, settle)
            except LedgerUnavailable as error:  # the repository was patient already
                return error
            except Exception as error:  # noqa: BLE001 - reported to every waiting caller
                log.warning(
                    "ledger write of %d reservations and %d settlements failed (try %d): %s",
                    len(reserve),
                    len(settle),
                    attempt,
                    error,
                )
                if attempt == _RETRIES:
                    return error
                time.sleep(_RETRY_PAUSE_S * attempt)
            else:
                return None
        return None

    def _count(self, counts: list[tuple[float, str, str, int]]) -> None:
        """Add the batch's counts, merged (one row per minute, reason and client), to the
        stored ones. Not retried: a retry after a commit whose answer was lost would count
        twice, and a count lost is logged."""
        merged: dict[tuple[float, str, str], int] = {}
        for minute, reason, client, n in counts:
            key = (minute, reason, client)
            merged[key] = merged.get(key, 0) + n
        rows = [(*key, n) for key, n in merged.items()]
        try:
            self._repository.add_unauthenticated(rows)
        except Exception as error:  # noqa: BLE001 - counts are not worth a record's retries
            log.error(
                "ledger: %d unauthenticated requests went uncounted: %s",
                sum(merged.values()),
                error,
            )

    def _one_by_one(self, batch: list[_Op], error: Exception) -> None:
        """The batch failed as a whole: write each op alone, in order and uncoalesced, so that
        one bad row fails only its own caller (and a reservation still lands when its
        settlement cannot). Once several fail in a row, the rest get the batch's error."""
        failures = 0
        flushes = []
        given_up: list[_Op] = []
        for op in batch:
            kind, row, done = op
            if kind == "count":
                continue  # added already, apart from the records
            if row is None:
                flushes.append(done)  # after the writes: settlements may follow it in `batch`
                continue
            if failures >= _GIVE_UP_AFTER:
                given_up.append(op)
                continue
            try:
                if kind == "reserve":
                    self._repository.write((row,), ())
                else:
                    self._repository.write((), (row,))
            except Exception as failure:  # noqa: BLE001 - reported to its caller
                failures += 1
                _resolve(done, failure, row[0])
            else:
                failures = 0
                _resolve(done, None)
        _fail(given_up, error)
        for done in flushes:
            _resolve(done, None)


def _sorted(
    batch: list[_Op],
) -> tuple[dict[str, Row], dict[str, Row], list[tuple[float, str, str, int]]]:
    """The batch's reservations and settlements by record id, as they would end up stored,
    and its counts."""
    reserve: dict[str, Row] = {}
    settle: dict[str, Row] = {}
    counts: list[tuple[float, str, str, int]] = []
    for kind, row, _ in batch:
        if row is None:
            continue
        if kind == "settle":
            settle[row[0]] = row  # the last settlement is the one that would stay
        elif kind == "reserve":
            reserve.setdefault(row[0], row)  # a later reservation would be ignored
        else:
            counts.extend(row)
    if settle and reserve:
        # Whether it came before or after, a settlement in this batch is its record's end
        # state: the reservation would either be replaced by it or be ignored.
        for record_id in settle:
            reserve.pop(record_id, None)
    return reserve, settle, counts


def _fail(batch: Sequence[_Op], error: Exception) -> None:
    """Each write of `batch` failed with `error`: its caller is told, or, when nobody waits for
    it, one line names them."""
    lost = []
    for kind, row, done in batch:
        if done is not None:
            _resolve(done, error)
        elif row is not None and kind != "count":  # counts report their own failure
            lost.append(f"{kind} {row[0]}")
    if lost:
        shown = ", ".join(lost[:_NAMED])
        more = f" and {len(lost) - _NAMED} more" if len(lost) > _NAMED else ""
        log.error("ledger writes failed (%s): %s%s", error, shown, more)


def _resolve(done: Future[None] | None, error: Exception | None, record_id: str = "") -> None:
    if done is None:
        if error is not None:
            log.error("ledger write of %s failed: %s", record_id, error)
        return
    try:
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
    except InvalidStateError:
        # The caller cancelled it (asyncio.wrap_future does, when the awaiting request is
        # cancelled): the write stands, nobody is waiting for its outcome.
        pass
