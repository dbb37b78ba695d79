"""Why a request was refused: the closed set of `LedgerRecord.refusal` values, read off the
error the client got (its OpenAI `code`, else its status), so that admission and routing keep
their errors as they are and the origin is decided here, in one place.

Refused by laneway before any upstream call (record status "refused"):

    bad_request          400  the body could not be read, or routing found it cannot be served
    revoked / expired    401  a virtual key, identified by its secret, that is no longer active
    access               403  the key may not use this lane or model
    not_found            404  no such model or lane served here
    budget               429  a budget would be exceeded (or the worst case cannot be bounded)
    rate_limit           429  the key's RPM or TPM limit
    limits_unavailable   503  the shared limits store is unreachable and admission fails closed
    limits_resyncing     503  the shared store lost its data; budgets are re-seeded first
    unavailable          503  every candidate is unavailable now (breakers open)

Refused upstream, or on the upstream's behalf, after the record was opened (record status
"error", one record all the same):

    upstream:insufficient_quota    429  the provider's account is out of quota
    upstream:rate_limit_exceeded   429  the provider's rate limit (any other 429 it sent)
    pacing                         429  laneway held it back to stay under the provider's limits
    limits_unavailable             503  the pacer's shared state is unreachable

Requests without a valid key are not here: they have no record, only a count per minute, reason
and client address (laneway.ledger.unauthenticated).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, get_args

from laneway.ledger.record import Attempt
from laneway.wire.errors import ApiError

Refusal = Literal[
    "bad_request",
    "revoked",
    "expired",
    "access",
    "not_found",
    "budget",
    "rate_limit",
    "limits_unavailable",
    "limits_resyncing",
    "unavailable",
    "upstream:insufficient_quota",
    "upstream:rate_limit_exceeded",
    "pacing",
]
REFUSALS: Final = frozenset(get_args(Refusal))

# What a request whose model could not be read is recorded as asking for (the column is NOT
# NULL): the body was not JSON, not an object, or had no model string.
UNREAD_MODEL: Final = "(unread)"

_BY_CODE: Final[dict[str, Refusal]] = {
    "permission_denied": "access",
    "insufficient_quota": "budget",
    "rate_limit_exceeded": "rate_limit",
    "limits_unavailable": "limits_unavailable",
    "limits_resyncing": "limits_resyncing",
    "invalid_api_key": "revoked",  # admission's: a key revoked on another replica
    "model_not_found": "not_found",
    "lane_not_found": "not_found",
    "model_unavailable": "unavailable",
    "lane_unavailable": "unavailable",
}
_BY_STATUS: Final[dict[int, Refusal]] = {
    401: "revoked",
    403: "access",
    404: "not_found",
    429: "rate_limit",
    503: "unavailable",
}


def refusal_of(error: ApiError) -> Refusal:
    """The origin of an error laneway answered before opening the request's record."""
    code = error.code
    if code is not None:
        found = _BY_CODE.get(code)
        if found is not None:
            return found
    return _BY_STATUS.get(error.status, "bad_request")


def upstream_refusal(error: ApiError, attempts: Sequence[Attempt]) -> Refusal | None:
    """The origin of a 429 (or the pacer's 503) that ended a request after its record was
    opened; None for a failure that was no refusal (a 5xx, a timeout, a 4xx about the body)."""
    if error.code == "limits_unavailable":
        return "limits_unavailable"
    if error.status != 429:
        return None
    last = attempts[-1] if attempts else None
    if last is None or last.status != 429:  # no upstream said 429: laneway's pacer held it
        return "pacing"
    if error.code == "insufficient_quota":
        return "upstream:insufficient_quota"
    return "upstream:rate_limit_exceeded"
