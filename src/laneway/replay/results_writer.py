"""Appending to a run's results with group commit: rows that complete close together are
written and fsync'd together, off the event loop, and each caller learns that its row is on
disk only then. A call is complete when its row is durable.

    writer = ResultsWriter(run_dir, on_durable)   # torn last lines cut off (a killed run's)
    writer.started(key)                  # before the call is sent: written, not fsync'd
    await writer.add(row)                # on_durable(row), then returns, once it is fsync'd

What waits is at most the rows of the calls in flight: memory does not grow with the run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RESULTS, STARTED


class ResultsWriter:
    def __init__(self, run_dir: Path, on_durable: Callable[[ResultRow], None]) -> None:
        """`on_durable`: told of each row once it is on disk, in the order written, whether or
        not its caller is still waiting (a cancelled call's row is written all the same)."""
        self._results = _append(run_dir / RESULTS)
        self._started = _append(run_dir / STARTED)
        self._on_durable = on_durable
        self._waiting: list[tuple[ResultRow, bytes, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._closed = False

    def started(self, key: tuple[str, str, int]) -> None:
        """Note a call about to be sent. One write(2): a kill after it leaves the line in the
        file (the OS has it), and the call is then known to have been in flight."""
        os.write(self._started, orjson.dumps(key, option=orjson.OPT_APPEND_NEWLINE))

    async def add(self, row: ResultRow) -> None:
        """Append `row`; returns once it is on disk (fsync'd), with the rows committed beside
        it."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((row, row.to_json(), done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit())
        await asyncio.shield(done)  # a cancelled caller's row is still written

    async def _commit(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            data = b"".join(raw for _, raw, _ in batch)
            failure: BaseException | None = None
            try:
                await asyncio.to_thread(_write, self._results, data)
            except OSError as error:
                failure = error
            for row, _, done in batch:
                if failure is None:
                    try:
                        self._on_durable(row)
                    except Exception as error:  # noqa: BLE001 - the caller's to see
                        done.set_exception(error)
                        continue
                    done.set_result(None)
                else:
                    done.set_exception(failure)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._committer is not None:
            await self._committer
        os.close(self._results)
        os.close(self._started)


def _append(path: Path) -> int:
    """`path` opened for appending, a torn last line (no newline: a write cut by a kill) cut
    off first, so the next line starts clean."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    size = os.lseek(descriptor, 0, os.SEEK_END)
    if size:
        keep = _whole_length(descriptor, size)
        if keep != size:
            os.ftruncate(descriptor, keep)
            os.fsync(descriptor)
    return descriptor


def _whole_length(descriptor: int, size: int) -> int:
    """The length of the file's whole lines: up to and including its last newline."""
    block = 1 << 16
    end = size
    while end > 0:
        start = max(0, end - block)
        chunk = os.pread(descriptor, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def _write(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]
    os.fsync(descriptor)
