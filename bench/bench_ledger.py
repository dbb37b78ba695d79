"""The ledger's CPU per request, old and new code side by side, driven as the gateway drives it.

    .venv/bin/python -m bench.bench_ledger [--rate 3000] [--seconds 3] [--repeat 5]
        [--work-us 100] [--durable both|on|off] [--batches 1,4,16] [--cpu 0]
        [--variants null,old,new]

The process is pinned to one CPU: the gateway's event loop shares one core with its ledger
thread, so CPU the writer thread spends is CPU the loop does not get. What counts is the whole
process's CPU (`time.process_time()`, all threads) per request, not wall time.

Variants, alternating within each repetition, each on a fresh SQLite file:
- null: reserve/settle return a resolved future: the driver's own cost, subtracted as "ledger";
- old: laneway's ledger before this work, frozen below (a copy per op, a transaction per run of
  one kind, INSERT OR REPLACE, executemany);
- new: `laneway.ledger` as it is now;
- new-nodelay (on request): the same with `settle_delay_s=0`, settlements not held back.

Two kinds of run:
- fixed (`--batches`): batches of a known make-up with no event loop in the way; see `_fixed`.
  Stable enough to compare code paths;
- driven: a uvloop loop starts `--rate` requests per second (in ~1 ms bursts, as the timer
  fires). Each builds a record, reserves it (awaiting the future with durable reservations, as
  the gateway does by default), burns `--work-us` of CPU for the rest of the gateway's work,
  waits 1 ms for "upstream", fills in one attempt, usage, cost and timings and settles without
  waiting. Batch sizes here come from how the writer thread and the loop share the GIL, so runs
  vary (on a shared machine, a lot): read the medians and the spread.

Reported per request: process CPU, the ledger's share (minus null's), the writer thread's own
CPU, transactions, the rate reached and, when durable, how long a reservation took to commit.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import os
import queue
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

import orjson
import uvloop

from laneway.ids import new_id
from laneway.ledger.record import Attempt, LedgerRecord, Row
from laneway.ledger.sqlite import SQLiteLedger
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.money import usd_str
from laneway.usage import Usage


class Writer(Protocol):
    def reserve(self, record: LedgerRecord) -> Future[None]: ...
    def settle(self, record: LedgerRecord) -> Future[None]: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = 10.0) -> None: ...


# --- the old code path, frozen: laneway/ledger/{writer,sqlite}.py before this benchmark ---

_OldKind = Literal["reserve", "settle", "flush"]
_OldOp = tuple[_OldKind, LedgerRecord | None, "Future[None]"]
_OLD_COLUMNS = (
    "id", "created_at", "key_id", "endpoint", "requested_model", "stream", "status",
    "answering_model", "provider", "upstream_request_id", "attempts", "http_status",
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens", "cost_usd", "ttfb_ms", "latency_ms", "error", "settled_at",
)  # fmt: skip
_OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, key_id TEXT, endpoint TEXT NOT NULL,
    requested_model TEXT NOT NULL, stream INTEGER NOT NULL, status TEXT NOT NULL,
    answering_model TEXT, provider TEXT, upstream_request_id TEXT, attempts TEXT NOT NULL,
    http_status INTEGER, input_tokens INTEGER, cached_input_tokens INTEGER,
    cache_write_tokens INTEGER, output_tokens INTEGER, reasoning_tokens INTEGER, cost_usd TEXT,
    ttfb_ms REAL, latency_ms REAL, error TEXT, settled_at REAL
);
CREATE INDEX IF NOT EXISTS requests_created ON requests (created_at);
CREATE INDEX IF NOT EXISTS requests_unsettled ON requests (status) WHERE status = 'reserved';
INSERT OR IGNORE INTO ledger_meta VALUES ('schema_version', '1');
"""
_OLD_UPSERT = (
    f"INSERT OR REPLACE INTO requests ({', '.join(_OLD_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _OLD_COLUMNS)})"
)
_OLD_INSERT = _OLD_UPSERT.replace("INSERT OR REPLACE", "INSERT OR IGNORE")


def _old_row(record: LedgerRecord) -> tuple[Any, ...]:
    usage = record.usage
    attempts = [
        {"provider": a.provider, "model": a.model, "status": a.status,
         "latency_ms": a.latency_ms, "error": a.error}
        for a in record.attempts
    ]  # fmt: skip
    return (
        record.id, record.created_at, record.key_id, record.endpoint, record.requested_model,
        int(record.stream), record.status, record.answering_model, record.provider,
        record.upstream_request_id, orjson.dumps(attempts).decode(), record.http_status,
        None if usage is None else usage.input_tokens,
        None if usage is None else usage.cached_input_tokens,
        None if usage is None else usage.cache_write_tokens,
        None if usage is None else usage.output_tokens,
        None if usage is None else usage.reasoning_tokens,
        None if record.cost_usd is None else usd_str(record.cost_usd),
        record.ttfb_ms, record.latency_ms, record.error, record.settled_at,
    )  # fmt: skip


class OldSQLiteLedger:
    def __init__(self, path: Path) -> None:
        self.transactions = 0
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_OLD_SCHEMA)

    def _write(self, sql: str, records: Sequence[LedgerRecord]) -> None:
        if not records:
            return
        rows = [_old_row(record) for record in records]
        self.transactions += 1
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def reserve(self, records: Sequence[LedgerRecord]) -> None:
        self._write(_OLD_INSERT, records)

    def settle(self, records: Sequence[LedgerRecord]) -> None:
        self._write(_OLD_UPSERT, records)

    def close(self) -> None:
        self._db.close()


class OldLedgerWriter:
    def __init__(self, repository: OldSQLiteLedger, *, max_batch: int = 1000) -> None:
        self._repository = repository
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_OldOp | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="old-ledger", daemon=True)
        self._thread.start()

    def reserve(self, record: LedgerRecord) -> Future[None]:
        return self._put("reserve", record)

    def settle(self, record: LedgerRecord) -> Future[None]:
        return self._put("settle", record)

    def _put(self, kind: _OldKind, record: LedgerRecord) -> Future[None]:
        done: Future[None] = Future()
        self._queue.put((kind, copy.copy(record), done))
        return done

    def flush(self, timeout: float | None = None) -> None:
        marker: Future[None] = Future()
        self._queue.put(("flush", None, marker))
        marker.result(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch: list[_OldOp] = []
            stop = first is None
            if first is not None:
                batch.append(first)
            while len(batch) < self._max_batch and not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_OldOp]) -> None:
        runs: list[tuple[_OldKind, list[_OldOp]]] = []
        for op in batch:
            if runs and runs[-1][0] == op[0] != "flush":
                runs[-1][1].append(op)
            else:
                runs.append((op[0], [op]))
        for kind, ops in runs:
            records = [record for _, record, _ in ops if record is not None]
            if kind == "reserve":
                self._repository.reserve(records)
            elif kind == "settle":
                self._repository.settle(records)
            for _, _, done in ops:
                done.set_result(None)


# --- the driver ---


class CountingLedger(SQLiteLedger):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.transactions = 0

    def write(self, reserve: Sequence[Row], settle: Sequence[Row]) -> None:
        self.transactions += 1
        super().write(reserve, settle)


class NullWriter:
    def __init__(self) -> None:
        self._done: Future[None] = Future()
        self._done.set_result(None)

    def reserve(self, record: LedgerRecord) -> Future[None]:
        return self._done

    def settle(self, record: LedgerRecord) -> Future[None]:
        return self._done

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = 10.0) -> None:
        pass


@dataclass
class Run:
    variant: str
    requests: int
    seconds: float
    process_cpu_s: float
    thread_cpu_s: float
    transactions: int
    waits: list[float]

    def wait_ms(self, quantile: float) -> float:
        if not self.waits:
            return 0.0
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000

    @property
    def cpu_us(self) -> float:
        return self.process_cpu_s / self.requests * 1e6

    @property
    def thread_us(self) -> float:
        return self.thread_cpu_s / self.requests * 1e6


def _spins_per_us() -> float:
    """Calibrate the stand-in for the gateway's own work: a pure-Python loop, no syscalls (a
    clock read per turn would add kernel time of its own to every variant)."""
    best = float("inf")
    for _ in range(5):
        began = time.thread_time()
        for _ in range(200_000):
            pass
        best = min(best, time.thread_time() - began)
    return 200_000 / (best * 1e6)


def _burn(spins: int) -> None:
    for _ in range(spins):
        pass


async def _drive(
    writer: Writer, requests: int, rate: float, durable: bool, spins: int, waits: list[float]
) -> None:
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()
    cost = Decimal("0.00012345")

    async def one() -> None:
        now = time.time()
        record = LedgerRecord(
            id=new_id("req"),
            created_at=now,
            key_id="key_bench",
            endpoint="chat",
            requested_model="gpt-5.4-mini",
            stream=False,
        )
        reserved = writer.reserve(record)
        if durable:
            began = time.perf_counter()
            await asyncio.wrap_future(reserved)
            waits.append(time.perf_counter() - began)
        _burn(spins)
        await asyncio.sleep(0.001)  # upstream
        writer.settle(_settled(record, cost))

    start = loop.time()
    for index in range(requests):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
    while pending:
        await asyncio.gather(*pending)


def _thread_cpu(thread: threading.Thread | None) -> float:
    if thread is None or thread.ident is None:
        return 0.0
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _settled(record: LedgerRecord, cost: Decimal) -> LedgerRecord:
    record.attempts = (Attempt("emulator", "gpt-5.4-mini", 200, 0.9),)
    record.status = "ok"
    record.answering_model = "gpt-5.4-mini-2026-03-17"
    record.provider = "emulator"
    record.upstream_request_id = "req_up"
    record.http_status = 200
    record.usage = Usage(120, 40, cached_input_tokens=64)
    record.cost_usd = cost
    record.ttfb_ms = record.latency_ms = 1.2
    record.settled_at = record.created_at + 0.0012
    return record


def _fixed(writer: Writer, requests: int, batch: int, same: bool) -> None:
    """Batches of a known make-up, with no event loop to compete for the GIL.

    same=False, as with durable reservations: `batch` reservations, waited for as the gateway
    waits; then the settlements of the previous `batch` requests, not waited for; then a pause
    in which the writer would go idle (the gateway's upstream calls).
    same=True, as under load without them: `batch` reservations and the settlements of those
    same records, queued together, then a flush.
    """
    cost = Decimal("0.00012345")
    previous: list[LedgerRecord] = []
    for _ in range(0, requests, batch):
        records = [
            LedgerRecord(
                id=new_id("req"),
                created_at=time.time(),
                key_id="key_bench",
                endpoint="chat",
                requested_model="gpt-5.4-mini",
                stream=False,
            )
            for _ in range(batch)
        ]
        reservations = [writer.reserve(record) for record in records]
        if same:
            for record in records:
                writer.settle(_settled(record, cost))
            writer.flush(30)
            continue
        for reservation in reservations:
            reservation.result(30)
        for record in previous:
            writer.settle(_settled(record, cost))
        previous = records
        time.sleep(0.0003)
    for record in previous:
        writer.settle(_settled(record, cost))


def run_once(
    variant: str,
    directory: Path,
    requests: int,
    drive: Callable[[Writer, list[float]], None],
) -> Run:
    path = directory / f"{variant}-{time.monotonic_ns()}.db"
    writer: Writer
    store: OldSQLiteLedger | CountingLedger | None = None
    thread: threading.Thread | None = None
    if variant == "null":
        writer = NullWriter()
    elif variant == "old":
        store = OldSQLiteLedger(path)
        old = OldLedgerWriter(store)
        writer, thread = old, old._thread
    else:
        store = CountingLedger(path)
        new = LedgerWriter(store, settle_delay_s=0.0 if variant == "new-nodelay" else 0.005)
        writer, thread = new, new._thread  # the benchmark reads its CPU clock
    gc.collect()
    thread_before = _thread_cpu(thread)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    waits: list[float] = []
    drive(writer, waits)
    writer.flush(30)
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    thread_cpu = _thread_cpu(thread) - thread_before
    writer.close()
    transactions = 0
    if store is not None:
        transactions = store.transactions
        store.close()
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT count(*) FROM requests WHERE status = 'ok'").fetchone()[0]
        if rows != requests:
            raise SystemExit(f"{variant}: {rows} settled rows, expected {requests}")
    return Run(variant, requests, wall, cpu, thread_cpu, transactions, waits)


def report(title: str, runs: dict[str, list[Run]], *, waits: bool) -> None:
    """Medians over the repetitions (the best run can be one where the writer starved and
    batches grew huge: cheap per request, slow for the callers)."""
    floor = statistics.median(r.cpu_us for r in runs["null"]) if "null" in runs else 0.0
    print(f"\n{title}")
    print(
        f"{'variant':12} {'CPU us/req':>11} {'ledger us/req':>14} {'thread us/req':>14} "
        f"{'txn/req':>8} {'req/s':>7}"
        + (f" {'reserve wait p50/p99 ms':>24}" if waits else "")
        + f" {'CPU us/req, all runs':>22}"
    )
    for name, found in runs.items():
        cpu = statistics.median(r.cpu_us for r in found)
        line = (
            f"{name:12} {cpu:11.1f} {cpu - floor:14.1f} "
            f"{statistics.median(r.thread_us for r in found):14.1f} "
            f"{statistics.median(r.transactions / r.requests for r in found):8.2f} "
            f"{statistics.median(r.requests / r.seconds for r in found):7.0f}"
        )
        if waits:
            p50 = statistics.median(r.wait_ms(0.5) for r in found)
            p99 = statistics.median(r.wait_ms(0.99) for r in found)
            line += f" {p50:13.2f}/{p99:<10.2f}"
        spread = sorted(f"{r.cpu_us:.0f}" for r in found)
        print(f"{line} {' '.join(spread):>22}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=3000.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="per driven run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work-us", type=float, default=100.0, help="other CPU per request")
    parser.add_argument("--durable", choices=["both", "on", "off"], default="both")
    parser.add_argument("--batches", default="1,4,16", help="fixed batch sizes; empty: none")
    parser.add_argument("--cpu", type=int, default=0, help="the one CPU to pin to; -1: no pin")
    parser.add_argument("--variants", default="null,old,new")
    args = parser.parse_args()
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    variants = args.variants.split(",")
    requests = int(args.rate * args.seconds)
    modes = {"both": [True, False], "on": [True], "off": [False]}[args.durable]
    spins = round(args.work_us * _spins_per_us())
    print(
        f"pinned to CPU {args.cpu}; medians of {args.repeat} runs, variants alternating; "
        "CPU is the whole process's, ledger = CPU - null's"
    )
    with tempfile.TemporaryDirectory() as tmp:

        def repeat(
            count: int, drive: Callable[[Writer, list[float]], None]
        ) -> dict[str, list[Run]]:
            runs: dict[str, list[Run]] = {name: [] for name in variants}
            for _ in range(args.repeat):
                for name in variants:
                    runs[name].append(run_once(name, Path(tmp), count, drive))
            return runs

        for size in [int(b) for b in args.batches.split(",") if b]:
            count = max(size, 4000 // size * size)
            for same in (False, True):

                def fixed(
                    writer: Writer,
                    _: list[float],
                    count: int = count,
                    size: int = size,
                    same: bool = same,
                ) -> None:
                    _fixed(writer, count, size, same)

                report(
                    f"fixed: {size} reservations"
                    + (
                        f" and their {size} settlements queued together, then a flush"
                        if same
                        else f" awaited, then {size} settlements of earlier ones, a 0.3 ms pause"
                    )
                    + f"; {count} requests",
                    repeat(count, fixed),
                    waits=False,
                )
        for durable in modes:

            def driven(writer: Writer, waits: list[float], durable: bool = durable) -> None:
                uvloop.run(_drive(writer, requests, args.rate, durable, spins, waits))

            report(
                f"driven: {requests} requests at {args.rate:g}/s, {args.work_us:g} us other "
                f"work each, durable reservations {'on' if durable else 'off'}",
                repeat(requests, driven),
                waits=durable,
            )


if __name__ == "__main__":
    main()
