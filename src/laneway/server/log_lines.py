"""How `laneway serve` writes its log records to stderr: one line per record, in order, in
laneway's format, but not one write (and flush) per line. At INFO the request log gives a record
per request, so each line's own write call, flush and %-formatting were most of its cost.

Lines below WARNING wait in a buffer, written in one call when `LINES_MAX` are waiting or
`FLUSH_S` after the first of them (a timer on the event loop of the thread that logged; with no
loop running there, at once). A WARNING or worse is written at once, after the lines before it.
`flush()` (at the end of a worker's loop, and logging's own at exit) writes what waits, so a
SIGTERM loses no line; only a crash (SIGKILL) may lose at most the last FLUSH_S of INFO lines.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TextIO

from laneway.telemetry.json_log import MARK, JsonFormatter

FORMAT = "laneway: %(levelname)s %(name)s: %(message)s"
LineWriter = Callable[[str], None]
FLUSH_S = 0.1
LINES_MAX = 64


class LineFormatter(logging.Formatter):
    """FORMAT, the same text as `logging.Formatter(FORMAT)` gives, built with one f-string
    instead of %-formatting the record's whole __dict__ (FORMAT has no time in it, so none
    is computed either way)."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        msg = record.msg
        # A message without arguments is itself (what getMessage() gives, one call less).
        message = msg if not record.args and type(msg) is str else record.getMessage()
        record.message = message
        return f"laneway: {record.levelname} {record.name}: {message}"


class LineBuffer(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler (stderr by default) writing its lines in batches, as the module says."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        flush_s: float = FLUSH_S,
        lines_max: int = LINES_MAX,
        formatter: logging.Formatter | None = None,
    ) -> None:
        """`formatter`: LineFormatter's text unless another is given (JSON lines)."""
        super().__init__(stream)
        self.setFormatter(formatter or LineFormatter())
        self._flush_s = flush_s
        self._lines_max = lines_max
        self._lines: list[str] = []
        # The loop a flush is due on, if any (a closed loop's timer never runs: a line logged
        # on another loop, or on none, does not wait for it).
        self._due_on: asyncio.AbstractEventLoop | None = None

    def createLock(self) -> None:
        super().createLock()
        self._held = self.lock or threading.RLock()

    def handle(self, record: logging.LogRecord) -> bool:
        # Handler.handle, without its three method calls when there is no filter to run.
        if self.filters:
            return bool(super().handle(record))
        with self._held:
            self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        # Called with the handler's lock held (Handler.handle).
        try:
            formatter = self.formatter
            line = self.format(record) if formatter is None else formatter.format(record)
            self._queue(line, record.levelno >= logging.WARNING)
        except RecursionError:  # as StreamHandler.emit: logging's own recursion guard
            raise
        except Exception:  # noqa: BLE001 - logging's contract: a failed line never raises
            self.handleError(record)

    def line_writer(self, logger: str, marks: Mapping[str, object]) -> LineWriter | None:
        """A writer of INFO messages from `logger` straight into this handler, each line the
        text `emit` would write for the LogRecord `logger.info(message)` makes (with
        `marks` set on it): no record made, no handler walk (gateway.request_log uses it;
        a test checks that both give the same lines). None for a formatter it does not know.
        """
        formatter = self.formatter
        if type(formatter) is LineFormatter:
            prefix = f"laneway: INFO {logger}: "
        elif type(formatter) is JsonFormatter and marks.get(MARK):
            prefix = ""  # a marked message is already its JSON object
        else:
            return None
        held, queue = self._held, self._queue

        def write(message: str) -> None:
            with held:
                try:
                    queue(prefix + message if prefix else message, False)
                except Exception:  # noqa: BLE001 - as emit: a failed line never raises
                    self.handleError(_failed_line(logger, message))

        return write

    def _queue(self, line: str, urgent: bool) -> None:
        """Called with the lock held: `line` waits for the next write; `urgent` (a WARNING or
        worse), a full buffer, or no event loop to time a flush writes at once."""
        lines = self._lines
        lines.append(line)
        if urgent or len(lines) >= self._lines_max:
            self.flush()
            return
        loop = asyncio._get_running_loop()
        if loop is None:
            self.flush()
        elif self._due_on is not loop:
            self._due_on = loop
            loop.call_later(self._flush_s, self._due)

    def _due(self) -> None:
        self.acquire()
        try:
            self._due_on = None
            self.flush()
        finally:
            self.release()

    def flush(self) -> None:
        """Write every line waiting, in one call, then flush the stream."""
        self.acquire()
        try:
            if not self._lines:
                return
            text = "\n".join(self._lines)
            self._lines.clear()
            stream = self.stream
            stream.write(text + self.terminator)
            stream.flush()
        finally:
            self.release()


def _failed_line(logger: str, message: str) -> logging.LogRecord:
    """What handleError reports for a line that could not be queued."""
    return logging.LogRecord(logger, logging.INFO, "", 0, message, (), None)
