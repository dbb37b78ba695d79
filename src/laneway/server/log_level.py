"""`laneway serve --log-level`: laneway's one logger tree (`laneway`,
`laneway.gateway.request_log`, ...) written to stderr at the level chosen (by LineBuffer:
INFO lines in batches, WARNING and worse at once)."""

from __future__ import annotations

import logging

from laneway.server.log_lines import LineBuffer

LEVELS = ("debug", "info", "warning", "error")
DEFAULT = "info"


def configure_logging(level: str) -> None:
    """Send laneway's logs to stderr at `level` (one of LEVELS); idempotent, so each worker
    process may call it again."""
    number = getattr(logging, level.upper())
    root = logging.root
    if not root.handlers:
        root.addHandler(LineBuffer())
    # Other libraries stay at warning: the tree below `laneway` is what --log-level is about
    # (its records reach the handler above whatever the root's own level).
    root.setLevel(logging.WARNING)
    root.getChild("laneway").setLevel(number)
    # What no laneway format prints, not gathered for every record (the logging HOWTO's
    # "Optimization"): the caller's frame, thread, process. At info, one record per request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def flush_logs() -> None:
    """Write what laneway's handlers hold (LineBuffer's waiting lines): at a worker's end."""
    for handler in logging.root.handlers:
        handler.flush()
