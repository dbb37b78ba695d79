"""Admission: may this client send this request now, and can its worst case be paid for?

    access    a virtual key reaches only its lanes and models            -> 403
    ask       key RPM/TPM, then key, lane and global budgets, reserving the request's worst-case
              cost against every budget in one atomic step of the quota state    -> 429
    settle    the reservation is replaced by the real cost once the record is settled

The quota state (memory or Redis) holds the counters; this module decides what to ask of it and
turns its answers into OpenAI-shaped errors. A request no limit applies to skips the state
entirely, except that with shared (Redis) state a virtual key's revocation is checked on every
request, so a revoked key fails at once on every replica (a read of the revoked set when the
state offers one, `is_revoked`: no reservation to write and settle).

Settling never holds up the answer and costs no task where the state allows: in memory it is
done at once (MemoryQuota never waits), in Redis it rides the next pipeline (`settle_soon`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias, TypeVar

from laneway.clock import Clock
from laneway.gateway.budget_refusal import HOW_TO_FIT, worst_case_parts
from laneway.gateway.client import Client
from laneway.keys.model import VirtualKey
from laneway.ledger.reconcile import given_up
from laneway.ledger.record import LedgerRecord
from laneway.pricing.catalog import Catalog
from laneway.pricing.money import usd_str
from laneway.pricing.worst_case import WorstCase, nano_ceil, usd_of_nano
from laneway.quota.budget import BudgetLimit
from laneway.quota.state import (
    EXACT_LIMIT,
    Ask,
    BudgetCharge,
    QuotaResyncing,
    QuotaState,
    QuotaUnavailable,
    RateLimit,
    Refusal,
    SoftCrossing,
    log_crossings,
)
from laneway.routing.output_cap import DEFAULT_ALLOWANCE, plan_cap
from laneway.routing.router import Plan
from laneway.wire.errors import (
    ApiError,
    incorrect_api_key,
    insufficient_quota,
    limits_resyncing,
    limits_unavailable,
    permission_denied,
    rate_limit_exceeded,
    wait_text,
)
from laneway.wire.request import ApiRequest

log = logging.getLogger(__name__)

_NO_RATES: tuple[RateLimit, ...] = ()
_NO_BUDGETS: tuple[BudgetCharge, ...] = ()
_MOST_TOKENS = EXACT_LIMIT // 60 - 1  # the largest TPM charge the state can count
_MEMO_MAX = 100_000  # keys come and go: per-key memos are dropped past this many
_T = TypeVar("_T")


class _Unchecked(enum.Enum):
    UNCHECKED = "unchecked"  # the shared state was unreachable and admission fails open


_UNCHECKED = _Unchecked.UNCHECKED

OnCrossings: TypeAlias = Callable[[tuple[SoftCrossing, ...]], None]
SettleSoon: TypeAlias = Callable[[str, int, "int | None", float, OnCrossings], None]
"""A state's optional `settle_soon(reservation_id, actual_nano, tokens, now, on_crossings)`:
`settle` without a task per request, for a caller that does not wait for the answer."""
# A key's object (to tell a changed key), its budgets as charges, and its RPM limit (or none).
_KeyLimits: TypeAlias = tuple[VirtualKey, tuple[BudgetCharge, ...], tuple[RateLimit, ...]]


@dataclass(slots=True)  # not frozen: one per request, and a frozen one costs 3x to build
class Hold:
    """An admitted request's reservation, to be settled with its real cost."""

    reservation_id: str
    tokens_limited: bool  # a TPM limit was charged an estimate that settlement corrects
    reserved: bool  # False: admitted unchecked while the shared state was unreachable
    worst_nano: int = 0  # the worst case reserved against budgets (0: none)


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """Budgets as configured, before a request turns them into charges."""

    global_: tuple[BudgetLimit, ...] = ()
    lanes: Mapping[str, tuple[BudgetLimit, ...]] | None = None
    soft_threshold: Decimal = Decimal("0.8")
    refuse_unknown_price: bool = True
    output_allowance: int = DEFAULT_ALLOWANCE  # laneway.routing.output_cap; a lane's overrides


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
        self._allowance = rule.output_allowance
        self._global = self._charges("global", rule.global_)
        self._lanes = {
            lane: self._charges(f"lane:{lane}", limits)
            for lane, limits in (rule.lanes or {}).items()
        }
        self._shared = shared  # revocations must be checked in the state on every request
        self._fail_open = fail_open
        self._tasks: set[asyncio.Task[None]] = set()
        self._of_key: dict[str, _KeyLimits] = {}  # key id -> its limits, for that key object
        # A state that answers at once is called without a coroutine (laneway.quota.memory).
        self._immediate = state.immediate
        self._settle_soon: SettleSoon | None = getattr(state, "settle_soon", None)
        # The state's optional read-only revocation check (Redis' `is_revoked`).
        self._is_revoked: Callable[[str], Awaitable[bool]] | None = getattr(
            state, "is_revoked", None
        )

    def _charges(self, scope: str, limits: Sequence[BudgetLimit]) -> tuple[BudgetCharge, ...]:
        charges = []
        for limit in limits:
            limit_nano = nano_ceil(limit.usd)
            soft = nano_ceil(limit.usd * self._soft) if self._soft < 1 else None
            charges.append(BudgetCharge(f"{scope}:{limit.window}", limit.window, limit_nano, soft))
        return tuple(charges)

    def key_charges(self, key: VirtualKey) -> tuple[BudgetCharge, ...]:
        """A key's own budgets as the state counts them."""
        held = self._of_key.get(key.id)
        if held is None or held[0] is not key:
            held = self._key_limits(key)
        return held[1]

    def key_rates(self, key: VirtualKey) -> tuple[RateLimit, ...]:
        """A key's RPM and TPM limits as the state counts them (taking nothing: for reading
        their use, `QuotaState.rate_use`)."""
        rates = []
        if key.rpm is not None:
            rates.append(RateLimit(f"key:{key.id}:rpm", key.rpm, 0))  # as _key_limits
        if key.tpm is not None:
            rates.append(RateLimit(f"key:{key.id}:tpm", key.tpm, 0, tokens=True))  # as _tpm
        return tuple(rates)

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

    def admit(
        self, client: Client, plan: Plan, reservation_id: str
    ) -> Hold | Awaitable[Hold | None] | None:
        """Reserve this request's worst case and charge its rate limits, or raise the 429 (or
        401 for a key revoked elsewhere). None: no limit applies, nothing to settle. A state
        that answers at once (memory) answers here; one that must be awaited (Redis) gives an
        awaitable of the same answer, so the common request costs no coroutine."""
        ask = self._ask(client, plan, reservation_id)
        if ask is None:
            return None
        immediate = self._immediate
        if immediate is None:
            return self._admit_shared(client, ask, reservation_id, plan)
        if isinstance(ask, str):  # a state of one process shares no revocations
            return None
        refusal = immediate.admit_now(ask, self._clock.time())
        if refusal is not None:
            raise self._refused(refusal, client, plan)
        return Hold(reservation_id, _tokens_limited(client), True, ask.amount_nano)

    async def _admit_shared(
        self, client: Client, ask: Ask | str, reservation_id: str, plan: Plan
    ) -> Hold | None:
        if isinstance(ask, str):  # only a revocation to check: a read, not a reservation
            if self._is_revoked is not None:
                revoked = await self._checked(self._is_revoked(ask), reservation_id)
                if revoked is True:  # not when unchecked (failing open)
                    raise incorrect_api_key(": this key has been revoked.")
            return None
        try:  # not through `_checked`: a coroutine less on every request
            refusal = await self.state.admit(ask, self._clock.time())
        except QuotaResyncing:  # never fails open: admitting would count from nothing
            raise limits_resyncing() from None
        except QuotaUnavailable as error:
            self._unchecked(reservation_id, error)
            return Hold(reservation_id, _tokens_limited(client), reserved=False)
        except asyncio.CancelledError:
            # The client left while the state answered: the script may have reserved, and no
            # settlement will come for it. Release it (a no-op when nothing was reserved).
            self._release_later(reservation_id)
            raise
        if refusal is not None:
            raise self._refused(refusal, client, plan)
        return Hold(reservation_id, _tokens_limited(client), True, ask.amount_nano)

    def _ask(self, client: Client, plan: Plan, reservation_id: str) -> Ask | str | None:
        """What to ask of the state: an Ask; a key prefix when only its revocation is to be
        checked; or None when nothing is."""
        key = client.key
        rates = _NO_RATES
        budgets = self._global
        lane = plan.lane
        if lane is not None and self._lanes:
            budgets = budgets + self._lanes.get(lane.name, _NO_BUDGETS)
        if key is not None:
            held = self._of_key.get(key.id)
            if held is None or held[0] is not key:
                held = self._key_limits(key)
            _, key_budgets, rates = held
            if key_budgets:
                budgets = key_budgets + budgets if budgets else key_budgets
            if key.tpm is not None:
                rates = (*rates, self._tpm(key.id, key.tpm, plan))
        revocation = client.prefix if self._shared and key is not None else None
        if not budgets and not rates:
            return revocation
        amount = 0
        if budgets:
            features = plan.features
            if features is not None and features.max_output_tokens is None:
                plan.output_cap = plan_cap(plan, self._allowance, self._worst.max_output)
            amount = self._amount(plan, reservation_id)
        return Ask(reservation_id, revocation, rates, budgets, amount)

    def _amount(self, plan: Plan, reservation_id: str) -> int:
        """The worst case to reserve; an unbounded one is refused, or (when allowed) zero."""
        amount = self._worst_case(plan)
        if amount is not None:
            if amount >= EXACT_LIMIT:  # past any budget the state can count: never fits
                raise insufficient_quota(
                    f"this request's worst-case cost ({_usd(amount)} USD; "
                    f"{worst_case_parts(self._worst, plan)}) is beyond any budget. {HOW_TO_FIT}"
                )
            return amount
        if self._refuse_unknown:
            raise insufficient_quota(
                "this request's cost cannot be bounded (a candidate model has no known "
                "price), so no budget could be held to it. Choose a priced model, set "
                'max_output_tokens, or set budgets.unknown_price = "allow".'
            )
        log.warning("admitting %s with an unpriced worst case against budgets", reservation_id)
        return 0

    async def _checked(self, answer: Awaitable[_T], reservation_id: str) -> _T | _Unchecked:
        """The state's answer, or, when it cannot be reached, as `_unchecked` says."""
        try:
            return await answer
        except QuotaUnavailable as error:
            self._unchecked(reservation_id, error)
            return _UNCHECKED

    def _unchecked(self, reservation_id: str, error: QuotaUnavailable) -> None:
        """The state is unreachable: the 503, or (failing open) a note that the request goes on
        unchecked."""
        if not self._fail_open:
            raise limits_unavailable() from None
        log.warning("admitting %s unchecked: %s", reservation_id, error)

    def _key_limits(self, key: VirtualKey) -> _KeyLimits:
        """The key's budgets and RPM limit as the state counts them, made once per key version
        (the registry replaces a key's object when it changes)."""
        if len(self._of_key) > _MEMO_MAX:
            self._of_key.clear()
        rpm = () if key.rpm is None else (RateLimit(f"key:{key.id}:rpm", key.rpm, 1),)
        held = self._of_key[key.id] = (key, self._charges(f"key:{key.id}", key.budgets), rpm)
        return held

    def _tpm(self, key_id: str, tpm: int, plan: Plan) -> RateLimit:
        # As OpenAI counts: input plus the most the answer may write; settlement corrects the
        # charge to the tokens really used.
        estimate = max(plan.tokens.values(), default=0)
        if not estimate and plan.features is not None:
            features = plan.features
            estimate = features.input_estimate + (features.max_output_tokens or 0)
        # A number no limit could hold is refused by the limit, not by the state's range check.
        estimate = min(estimate, _MOST_TOKENS)
        return RateLimit(f"key:{key_id}:tpm", tpm, estimate, tokens=True)

    def _worst_case(self, plan: Plan) -> int | None:
        """The most this request can cost on any candidate it may be sent to."""
        features = plan.features
        if features is None:
            return None
        input_bound = None if features.stored_input else features.input_upper_bound
        output = features.max_output_tokens
        if output is None:
            output = plan.output_cap
        choices, extra = features.choices, features.output_extra
        worst = 0
        for candidate in plan.candidates:
            nano = self._worst.nano(candidate.model, input_bound, output, choices, extra)
            if nano is None:
                return None
            worst = max(worst, nano)
        return worst

    def _refused(self, refusal: Refusal, client: Client, plan: Plan) -> ApiError:
        if refusal.kind == "revoked":
            return incorrect_api_key(": this key has been revoked.")
        who = _who(client)
        if refusal.kind == "budget":
            return insufficient_quota(
                f"budget {refusal.limit_id} would be exceeded by this request's worst-case "
                f"cost ({_usd(refusal.requested)} USD reserved = "
                f"{worst_case_parts(self._worst, plan)}; {_usd(refusal.used)} of "
                f"{_usd(refusal.limit)} USD spent or reserved) for {who}. {HOW_TO_FIT}"
            )
        limit_id = refusal.limit_id or ""
        tokens = limit_id.endswith(":tpm")
        unit = "tokens per min (TPM)" if tokens else "requests per min (RPM)"
        wait = (
            f"Please try again in {wait_text(refusal.retry_after_s)}."
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
        """Replace the reservation with the record's real cost, without waiting for it (the
        answer is already on its way)."""
        if not hold.reserved:
            return
        cost = record.cost_usd
        actual = nano_ceil(cost) if cost is not None and cost > 0 else 0
        if cost is None and record.usage is not None and record.usage.total_tokens:
            log.warning("settling %s at zero: its cost is unknown (unpriced model)", record.id)
        basis = record.cost_basis
        if basis is not None and basis != "estimated" and hold.worst_nano:
            actual = with_unseen(actual, hold.worst_nano, record)
        tokens = None
        if hold.tokens_limited:
            usage = record.usage
            tokens = usage.input_tokens + usage.output_tokens if usage is not None else 0
        try:
            if self._immediate is not None:
                crossings = self._immediate.settle_now(
                    hold.reservation_id, actual, tokens, self._clock.time()
                )
                if crossings:
                    log_crossings(crossings)
            elif self._settle_soon is not None:
                now = self._clock.time()
                self._settle_soon(hold.reservation_id, actual, tokens, now, log_crossings)
            else:
                task = asyncio.ensure_future(self._settle(hold.reservation_id, actual, tokens))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception:  # as a task's failure would be: logged, never the client's problem
            log.exception("settling %s failed", hold.reservation_id)

    async def _settle(self, reservation_id: str, actual: int, tokens: int | None) -> None:
        crossings = await self.state.settle(reservation_id, actual, tokens, self._clock.time())
        log_crossings(crossings)

    def _release_later(self, reservation_id: str) -> None:
        async def release() -> None:
            try:
                await self.state.release(reservation_id)
            except QuotaUnavailable:
                log.warning(
                    "reservation %s may stay held: the state is unreachable", reservation_id
                )

        task = asyncio.ensure_future(release())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.state.close()


def with_unseen(actual: int, worst_nano: int, record: LedgerRecord) -> int:
    """What a budget is charged for a record with costs laneway cannot see: the known cost, plus
    the worst case reserved for each unseen one (an answer without usage, each attempt given up
    after it was sent, or an attempt out when the client left), as the provider may have billed
    it whole. The ledger keeps what is known; the budget assumes the worst of the rest."""
    unseen = sum(1 for attempt in record.attempts if given_up(attempt))
    if record.cost_basis == "no_usage":
        unseen += 1
    return min(actual + max(unseen, 1) * worst_nano, EXACT_LIMIT - 1)


def _tokens_limited(client: Client) -> bool:
    """A TPM limit was charged an estimate, which settlement corrects."""
    return client.key is not None and client.key.tpm is not None


def _who(client: Client) -> str:
    key = client.key
    if key is not None:
        return f"key {key.name} ({key.prefix})"
    return f"key {client.key_id}" if client.key_id else "this gateway"


def _usd(nano: int | None) -> str:
    return usd_str(usd_of_nano(nano)) if nano is not None else "?"


def _allowed(lanes: Sequence[str], models: Sequence[str]) -> str:
    parts = []
    if lanes:
        parts.append("lanes " + ", ".join(lanes))
    if models:
        parts.append("models " + ", ".join(models))
    return " It may use " + " and ".join(parts) + "." if parts else ""
