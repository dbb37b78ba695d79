"""Points in time as people type them: 2026-11-01, 2026-11-01T12:00, 24h, 7d (ago)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from laneway.cli.errors import CliError

_RELATIVE = re.compile(r"(\d+)\s*([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_moment(text: str, option: str, now: float) -> float:
    """Unix seconds for `text`: an ISO date or date-time (UTC unless it says otherwise), or a
    span before `now` such as 30m, 24h or 7d."""
    relative = _RELATIVE.fullmatch(text.strip())
    if relative is not None:
        return now - int(relative.group(1)) * _SECONDS[relative.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"{option}: {text!r} is not a time (write 2026-11-01, 2026-11-01T12:00 or 24h)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
