"""`laneway serve --log-level`: laneway's one logger tree (`laneway`,
`laneway.gateway.request_log`, ...) written to stderr at the level chosen."""

from __future__ import annotations

import logging

LEVELS = ("debug", "info", "warning", "error")
DEFAULT = "info"
_FORMAT = "laneway: %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send laneway's logs to stderr at `level` (one of LEVELS); idempotent, so each worker
    process may call it again."""
    number = getattr(logging, level.upper())
    root = logging.root
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
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
