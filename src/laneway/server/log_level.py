"""`laneway serve --log-level --log-format`: laneway's one logger tree (`laneway`,
`laneway.gateway.request_log`, ...) written to stderr at the level chosen (by LineBuffer:
INFO lines in batches, WARNING and worse at once), as text or as JSON objects
(laneway.telemetry.json_log)."""

from __future__ import annotations

import logging

from laneway.server.log_lines import LineBuffer
from laneway.telemetry.json_log import JsonFormatter

LEVELS = ("debug", "info", "warning", "error")
DEFAULT = "info"
FORMATS = ("text", "json")


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send laneway's logs to stderr at `level` (one of LEVELS), in `log_format` (one of
    FORMATS); idempotent, so each worker process may call it again."""
    number = getattr(logging, level.upper())
    root = logging.root
    json = log_format == "json"
    if not root.handlers:
        root.addHandler(LineBuffer(formatter=JsonFormatter() if json else None))
    elif json:
        for handler in root.handlers:
            if isinstance(handler, LineBuffer):
                handler.setFormatter(JsonFormatter())
    if json:  # warnings.warn() as log records too, so every line on stderr is an object
        logging.captureWarnings(True)
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
