"""Admission: may this client send this request now, and can its worst case be paid for?

    access    a virtual key reaches only its lanes and models            -> 403
    ask       key RPM/TPM, then key, lane and global budgets, reserving the request's worst-case
              cost against every budget in one atomic step of the quota state    -> 429
    settle    the reservation is replaced by the real cost once the record is settled

The quota state (memory or Redis) holds the counters; this module decides what to ask of it and
turns its answers into OpenAI-shaped errors. A request no limit applies to skips the state
entirely, except that with shared (Redis) state a virtual key's revocation is checked on every
request, so a revoked key fails at once on every replica.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from laneway.clock import Clock
from laneway.gateway.client import Client
from laneway.keys.model import VirtualKey
from laneway.ledger.record import LedgerRecord
from laneway.pricing.catalog import Catalog
from laneway.pricing.money import usd_str
from laneway.pricing.worst_case import WorstCase, nano_ceil, usd_of_nano
from laneway.quota.admission import (
    Ask,
    BudgetCharge,
    QuotaState,
    QuotaUnavailable,
    RateLimit,
    Refusal,
    SoftCrossing,
)
from laneway.quota.budget import BudgetLimit
from laneway.routing.router import Plan
from laneway.wire.errors import (
    ApiError,
    incorrect_api_key,
    insufficient_quota,
    permission_denied,
    rate_limit_exceeded,
)
from laneway.wire.request import ApiRequest

log = logging.getLogger("laneway.quota")

_NO_RATES: tuple[RateLimit, ...] = ()
_NO_BUDGETS: tuple[BudgetCharge, ...] = ()


@dataclass(frozen=True, slots=True)
class Hold:
    """An admitted request's reservation, to be settled with its real cost."""

    reservation_id: str
    tokens_limited: bool  # a TPM limit was charged an estimate that settlement corrects
    reserved: bool  # False: admitted unchecked while the shared state was unreachable


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """Budgets as configured, before a request turns them into charges."""

    global_: tuple[BudgetLimit, ...] = ()
    lanes: Mapping[str, tuple[BudgetLimit, ...]] | None = None
    soft_threshold: Decimal = Decimal("0.8")
    refuse_unknown_price: bool = True


class Admission:
    def __init__(
        self,
        state: QuotaState,
        catalog: Catalog,
        clock: Clock,
        *,
        budgets: BudgetRule | None = None,
        shared: bool = False,
        fail_open: bool = False,
    ) -> None:
        self.state = state
        self._clock = clock
        self._worst = WorstCase(catalog)
        rule = budgets or BudgetRule()
        self._soft = rule.soft_threshold
        self._refuse_unknown = rule.refuse_unknown_price
        self._global = self._charges("global", rule.global_)
        self._lanes = {
            lane: self._charges(f"lane:{lane}", limits)
            for lane, limits in (rule.lanes or {}).items()
        }
        self._shared = shared  # revocations must be checked in the state on every request
        self._fail_open = fail_open
        self._tasks: set[asyncio.Task[None]] = set()
        self._key_charges: dict[tuple[str, tuple[BudgetLimit, ...]], tuple[BudgetCharge, ...]] = {}

    def _charges(self, scope: str, limits: Sequence[BudgetLimit]) -> tuple[BudgetCharge, ...]:
        charges = []
        for limit in limits:
            limit_nano = nano_ceil(limit.usd)
            soft = nano_ceil(limit.usd * self._soft) if self._soft < 1 else None
            charges.append(BudgetCharge(f"{scope}:{limit.window}", limit.window, limit_nano, soft))
        return tuple(charges)

    def key_charges(self, key: VirtualKey) -> tuple[BudgetCharge, ...]:
        """A key's own budgets as the state counts them."""
        return self._key_budgets(key.id, key.budgets) if key.budgets else ()

    def shared_charges(self) -> tuple[BudgetCharge, ...]:
        """Global and lane budgets."""
        charges = self._global
        for lane_charges in self._lanes.values():
            charges = charges + lane_charges
        return charges

    # -- before routing's choice is sent -------------------------------------------------------

    def check_access(self, client: Client, request: ApiRequest, plan: Plan) -> None:
        """403 when a virtual key asks for a lane or model it was not given."""
        key = client.key
        if key is None:
            return
        lane = plan.lane
        if lane is not None:
            if not key.allows_lane(lane.name):
                raise permission_denied(
                    f"This key ({key.prefix}) may not use lane '{lane.name}'."
                    + _allowed(key.lanes, key.models)
                )
        elif not key.allows_model(request.model):
            raise permission_denied(
                f"This key ({key.prefix}) may not use model '{request.model}'."
                + _allowed(key.lanes, key.models)
            )

    async def admit(self, client: Client, plan: Plan, reservation_id: str) -> Hold | None:
        """Reserve this request's worst case and charge its rate limits, or raise the 429 (or
        401 for a key revoked elsewhere). None: no limit applies, nothing to settle."""
        key = client.key
        rates = _NO_RATES
        budgets = self._global
        if plan.lane is not None:
            budgets = budgets + self._lanes.get(plan.lane.name, _NO_BUDGETS)
        tokens_limited = False
        if key is not None:
            if key.budgets:
                budgets = self._key_budgets(key.id, key.budgets) + budgets
            if key.rpm is not None or key.tpm is not None:
                rates = self._key_rates(key.id, key.rpm, key.tpm, plan)
                tokens_limited = key.tpm is not None
        revocation = client.prefix if self._shared and key is not None else None
        if not budgets and not rates and revocation is None:
            return None
        amount = self._worst_case(plan) if budgets else 0
        if amount is None:
            if self._refuse_unknown:
                raise insufficient_quota(
                    "this request's cost cannot be bounded (a candidate model has no known "
                    "price), so no budget could be held to it. Choose a priced model, set "
                    'max_output_tokens, or set budgets.unknown_price = "allow".'
                )
            log.warning("admitting %s with an unpriced worst case against budgets", reservation_id)
            amount = 0
        ask = Ask(reservation_id, revocation, rates, budgets, amount)
        try:
            refusal = await self.state.admit(ask, self._clock.time())
        except QuotaUnavailable as error:
            if not self._fail_open:
                raise ApiError(
                    503,
                    "laneway cannot reach its shared limits store, so it cannot admit requests "
                    "safely right now. Try again shortly.",
                    type="server_error",
                    code="limits_unavailable",
                    headers={"retry-after": "1"},
                ) from None
            log.warning("admitting %s unchecked: %s", reservation_id, error)
            return Hold(reservation_id, tokens_limited, reserved=False)
        if refusal is not None:
            raise self._refused(refusal, client)
        return Hold(reservation_id, tokens_limited, reserved=True)

    def _key_budgets(
        self, key_id: str, limits: tuple[BudgetLimit, ...]
    ) -> tuple[BudgetCharge, ...]:
        memo = (key_id, limits)
        charges = self._key_charges.get(memo)
        if charges is None:
            if len(self._key_charges) > 100_000:  # keys come and go: keep the memo bounded
                self._key_charges.clear()
            charges = self._key_charges[memo] = self._charges(f"key:{key_id}", limits)
        return charges

    def _key_rates(
        self, key_id: str, rpm: int | None, tpm: int | None, plan: Plan
    ) -> tuple[RateLimit, ...]:
        rates = []
        if rpm is not None:
            rates.append(RateLimit(f"key:{key_id}:rpm", rpm, 1))
        if tpm is not None:
            # As OpenAI counts: input plus the most the answer may write; settlement corrects
            # the charge to the tokens really used.
            estimate = max(plan.tokens.values(), default=0)
            if not estimate and plan.features is not None:
                features = plan.features
                estimate = features.input_estimate + (features.max_output_tokens or 0)
            rates.append(RateLimit(f"key:{key_id}:tpm", tpm, estimate, tokens=True))
        return tuple(rates)

    def _worst_case(self, plan: Plan) -> int | None:
        """The most this request can cost on any candidate it may be sent to."""
        features = plan.features
        if features is None:
            return None
        input_bound = None if features.stored_input else features.input_upper_bound
        worst = 0
        for candidate in plan.candidates:
            nano = self._worst.nano(candidate.model, input_bound, features.max_output_tokens)
            if nano is None:
                return None
            worst = max(worst, nano)
        return worst

    def _refused(self, refusal: Refusal, client: Client) -> ApiError:
        if refusal.kind == "revoked":
            return incorrect_api_key(": this key has been revoked.")
        who = _who(client)
        if refusal.kind == "budget":
            return insufficient_quota(
                f"budget {refusal.limit_id} would be exceeded by this request's worst-case "
                f"cost ({_usd(refusal.requested)} USD; {_usd(refusal.used)} of "
                f"{_usd(refusal.limit)} USD spent or reserved) for {who}."
            )
        limit_id = refusal.limit_id or ""
        tokens = limit_id.endswith(":tpm")
        unit = "tokens per min (TPM)" if tokens else "requests per min (RPM)"
        wait = (
            f"Please try again in {_duration(refusal.retry_after_s)}."
            if refusal.retry_after_s is not None
            else "This request can never fit the limit."
        )
        return rate_limit_exceeded(
            f"Rate limit reached for {who} on {unit}: Limit {refusal.limit}, "
            f"Used {refusal.used}, Requested {refusal.requested}. {wait}",
            "tokens" if tokens else "requests",
            refusal.retry_after_s,
        )

    # -- after the answer ----------------------------------------------------------------------

    def settle(self, hold: Hold, record: LedgerRecord) -> None:
        """Replace the reservation with the record's real cost (in the background: the answer
        is already on its way)."""
        if not hold.reserved:
            return
        cost = record.cost_usd
        actual = nano_ceil(cost) if cost is not None and cost > 0 else 0
        if cost is None and record.usage is not None and record.usage.total_tokens:
            log.warning("settling %s at zero: its cost is unknown (unpriced model)", record.id)
        tokens = None
        if hold.tokens_limited:
            usage = record.usage
            tokens = usage.input_tokens + usage.output_tokens if usage is not None else 0
        task = asyncio.ensure_future(self._settle(hold.reservation_id, actual, tokens))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, reservation_id: str, actual: int, tokens: int | None) -> None:
        crossings = await self.state.settle(reservation_id, actual, tokens, self._clock.time())
        for crossing in crossings:
            _warn_soft(crossing)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.state.close()


def _warn_soft(crossing: SoftCrossing) -> None:
    log.warning(
        "budget %s (%s) passed its soft threshold: %s of %s USD spent",
        crossing.budget_id,
        crossing.period,
        usd_str(usd_of_nano(crossing.spent_nano)),
        usd_str(usd_of_nano(crossing.limit_nano)),
    )


def _who(client: Client) -> str:
    key = client.key
    if key is not None:
        return f"key {key.name} ({key.prefix})"
    return f"key {client.key_id}" if client.key_id else "this gateway"


def _usd(nano: int | None) -> str:
    return usd_str(usd_of_nano(nano)) if nano is not None else "?"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    return f"{seconds:.3f}s"


def _allowed(lanes: Sequence[str], models: Sequence[str]) -> str:
    parts = []
    if lanes:
        parts.append("lanes " + ", ".join(lanes))
    if models:
        parts.append("models " + ", ".join(models))
    return " It may use " + " and ".join(parts) + "." if parts else ""
