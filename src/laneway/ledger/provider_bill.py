"""What a provider billed over a time range, read from OpenAI's Costs API
(`GET /v1/organization/costs`, an admin key), which the emulator serves too.

The Costs API buckets by UTC day, so the range is whole days: `day_range` widens one to them,
and the ledger must be read over the same days. Amounts are summed exactly (Decimal from the
JSON text, never through a float).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from decimal import Decimal

from laneway.errors import LanewayError

DAY = 86_400
_PAGE_LIMIT = 180  # the Costs API's maximum buckets per page
Get = Callable[[str, dict[str, str]], bytes]  # url, headers -> body (raises BillError)


class BillError(LanewayError):
    """The provider's bill could not be read; the message says why and never holds the key."""


def day_range(since: float, until: float) -> tuple[int, int]:
    """[since, until) widened to whole UTC days, as the Costs API buckets them."""
    start = math.floor(since) - math.floor(since) % DAY
    end = math.ceil(until)
    return start, end + (-end) % DAY


def billed_usd(
    base_url: str, admin_key: str, start: int, end: int, get: Get | None = None
) -> Decimal:
    """The total the Costs API reports over [start, end), every page summed."""
    fetch = get or _get
    headers = {"authorization": f"Bearer {admin_key}"}
    params = {"start_time": str(start), "end_time": str(end), "limit": str(_PAGE_LIMIT)}
    total = Decimal(0)
    while True:
        url = f"{base_url.rstrip('/')}/organization/costs?{urllib.parse.urlencode(params)}"
        try:
            page = json.loads(fetch(url, headers), parse_float=Decimal, parse_int=Decimal)
            for bucket in page["data"]:
                for result in bucket["results"]:
                    total += Decimal(result["amount"]["value"])
        except (ValueError, KeyError, TypeError) as error:
            raise BillError(
                f"the Costs API at {base_url} answered something else: {error}"
            ) from None
        if not page.get("has_more"):
            return total
        params["page"] = str(page["next_page"])


def _get(url: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the user's own URL
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            body: bytes = answer.read()
            return body
    except urllib.error.HTTPError as error:
        raise BillError(f"the Costs API answered {error.code}: {_message(error.read())}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        where = url.partition("?")[0]
        raise BillError(f"cannot reach the Costs API at {where}: {reason}") from None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return "no error message"
