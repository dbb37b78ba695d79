"""Counts shared between the processes of `server.workers > 1`: each worker publishes its own,
and a scrape, whichever worker answers it, shows them all merged.

The parent (`laneway.server.run`) makes a private directory (mode 0700) when `[metrics]
enabled`, gives each worker its path and the worker's index, and removes it when the workers
have exited. A worker writes a snapshot of its `Counts` (`metrics_snapshot`) to
`worker-<index>.json` every second, at shutdown, and right before it answers a scrape; each
write goes to a temporary file in the same directory, then `os.replace`s the snapshot, so a
reader opens the whole of the old one or the whole of the new one. Nothing runs per request: a
publish costs a serialisation on the event loop (proportional to the series, ~1 ms for a
thousand routes) and is skipped when the bytes have not changed.

**Why a counter never goes backwards, whichever worker answers.** A worker's counts only grow,
and each write of its file holds its counts at that moment, so the figures in every file only
grow. A scrape answered by worker A merges A's own counts, written to A's file just before
(with no await between the write and the merge: the figure used is the figure written), with
every other worker's file as it reads it. A later scrape answered by worker B uses, for A, A's
file (at least what the earlier scrape used), for B, B's live counts (at least anything B's file
ever held), and for every other worker its file (at least what was read earlier). Each part is
at least what it was, and the parts are added in index order, so even a histogram's float sum
rounds the same way: every series is at least what any earlier scrape showed (unless a write
fails: logged, and that worker's figure is then used unwritten). A worker that
crashes leaves its last file, which is still counted. Two things reset series, as a restart
would: a file that cannot be read (skipped, with one warning per file, never a 500) and the
gateway itself restarting (the directory is new).

**Per process still.** The gauges a scrape reads from state (budgets, key rate limits, upstream
headroom, breakers, the ledger's backlog, its unsettled records) are the answering worker's
reading: budgets and rate limits in Redis and the ledger's unsettled records are the same from
every worker; budgets in memory, headroom, breakers and the backlog are that worker's own.

**Key labels.** Each worker gives its own first `top_keys` keys a label (`KeyLabels`), so merged
a scrape can show up to workers x top_keys key labels, and a key with a slot in one worker only
has its requests at the others counted under "other".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from laneway.telemetry.metrics_counts import Counts
from laneway.telemetry.metrics_snapshot import SnapshotError, dump, load, merge

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 1.0
_NAME = re.compile(r"worker-(\d+)\.json")

Sleep = Callable[[float], Awaitable[None]]


def snapshot_name(index: int) -> str:
    return f"worker-{index}.json"


class SharedCounts:
    """One worker's counts published to the shared directory, and every worker's merged."""

    def __init__(self, directory: Path, index: int, counts: Counts) -> None:
        self.directory = directory
        self.index = index
        self.counts = counts
        self.path = directory / snapshot_name(index)
        self._temporary = directory / f".worker-{index}.tmp"  # this worker's alone
        self._written: bytes | None = None
        self._warned: set[str] = set()

    def publish(self) -> None:
        """Write this worker's counts now (nothing when they have not changed since)."""
        data = dump(self.counts)
        if data == self._written:
            return
        try:
            self._temporary.write_bytes(data)
            os.replace(self._temporary, self.path)
        except OSError as error:
            self._warn(self.path.name, f"cannot publish this worker's metrics: {error}")
            return
        self._written = data

    def gather(self) -> Counts:
        """Every worker's counts merged, this worker's published first: what a scrape shows."""
        self.publish()
        parts = {self.index: self.counts}
        for index, path in self._others():
            part = self._read(path)
            if part is not None:
                parts[index] = part
        return merge((parts[index] for index in sorted(parts)), self.counts.keys.top)

    def _others(self) -> list[tuple[int, Path]]:
        found = []
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    named = _NAME.fullmatch(entry.name)
                    if named is not None and int(named[1]) != self.index:
                        found.append((int(named[1]), Path(entry.path)))
        except OSError as error:
            self._warn(str(self.directory), f"cannot list the workers' metrics: {error}")
        return found

    def _read(self, path: Path) -> Counts | None:
        try:
            return load(path.read_bytes())
        except (OSError, SnapshotError) as error:
            self._warn(path.name, f"skipped the worker's metrics in {path}: {error}")
            return None

    def _warn(self, what: str, message: str) -> None:
        """Once per file: a scrape every few seconds must not repeat it."""
        if what not in self._warned:
            self._warned.add(what)
            log.warning(message)

    async def publish_every(
        self, period_s: float = PUBLISH_EVERY_S, sleep: Sleep = asyncio.sleep
    ) -> None:
        """Publish every `period_s`, until cancelled."""
        while True:
            await sleep(period_s)
            self.publish()


@contextlib.asynccontextmanager
async def publishing(
    shared: SharedCounts | None, sleep: Sleep = asyncio.sleep
) -> AsyncIterator[None]:
    """While serving: `shared` published every second, and once more at the end (None:
    nothing, the one-worker case)."""
    if shared is None:
        yield
        return
    ticking = shared.publish_every(PUBLISH_EVERY_S, sleep)
    task = asyncio.create_task(ticking, name="laneway-metrics-publish")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        shared.publish()
