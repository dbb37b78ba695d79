"""How a judge's question is asked: an injected `JudgeAsk` (a body and the repeat in, a
`JudgeReply` out), so the caller decides where it goes; and `GatewayAsk`, which asks through a
laneway gateway in-process (a ledger record, an exact cost, the gateway's keys, limits and
retries) and holds each call's worst case against a run's spend cap while it runs.

A call that fails (an upstream error after the gateway's retries, a refusal, the spend cap) is
a `JudgeCallError` naming its record and what it cost: the judge makes that a grader error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import orjson

from laneway.errors import LanewayError
from laneway.gateway.answer import AnswerMeta
from laneway.gateway.client import ANONYMOUS_CLIENT, Client
from laneway.gateway.core import Gateway
from laneway.ledger.record import LedgerRecord
from laneway.pricing.worst_case import WorstCase, usd_of_nano
from laneway.replay.spend_cap import SpendCap
from laneway.wire.answers import answer_of
from laneway.wire.errors import ApiError
from laneway.wire.features import exact_input_tokens
from laneway.wire.replay_headers import REPEAT_HEADER

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class JudgeReply:
    text: str  # the judge's answer text (its verdict, if it kept to the format)
    cost_usd: Decimal | None  # exact; None: unknown
    record_id: str | None  # the call's ledger record


class JudgeCallError(LanewayError):
    """A judge call that gave no answer; `cost_usd` None when it may have cost something
    unknown (an attempt given up after it was sent)."""

    def __init__(
        self, message: str, record_id: str | None = None, cost_usd: Decimal | None = _ZERO
    ) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.cost_usd = cost_usd


class JudgeAsk(Protocol):
    async def __call__(self, body: dict[str, Any], repeat: int) -> JudgeReply: ...


class GatewayAsk:
    """Asks through `gateway` as `client`; with `cap`, each call reserves its worst case
    (laneway.replay.costs' figure: exact input tokens, the body's max_output_tokens) and is
    charged its exact cost, or that worst case when its cost is unknown."""

    def __init__(
        self, gateway: Gateway, client: Client = ANONYMOUS_CLIENT, cap: SpendCap | None = None
    ) -> None:
        self._gateway = gateway
        self._client = client
        self._cap = cap
        self._worst = WorstCase(gateway.catalog)

    async def __call__(self, body: dict[str, Any], repeat: int) -> JudgeReply:
        cap = self._cap
        if cap is None:
            return await self._ask(body, repeat)
        worst = self.worst_usd(body)
        reservation = await cap.reserve(worst)
        if reservation is None:
            raise JudgeCallError(cap.refusal(worst))
        charge = worst  # what a cancelled call is charged: it may have been billed
        try:
            reply = await self._ask(body, repeat)
            charge = reply.cost_usd if reply.cost_usd is not None else worst
            return reply
        except JudgeCallError as failed:
            charge = failed.cost_usd if failed.cost_usd is not None else worst
            raise
        finally:
            cap.settle(reservation, charge)

    def worst_usd(self, body: dict[str, Any]) -> Decimal:
        """The most the call can cost; 0 when the catalog cannot price it (as a run's calls)."""
        tokens = exact_input_tokens("responses", body)
        nano = self._worst.nano(str(body["model"]), tokens, body.get("max_output_tokens"))
        return _ZERO if nano is None else usd_of_nano(nano)

    async def _ask(self, body: dict[str, Any], repeat: int) -> JudgeReply:
        headers = {REPEAT_HEADER: str(repeat).encode()}
        try:
            answer = await self._gateway.handle(
                "responses", orjson.dumps(body), client=self._client, headers=headers
            )
        except ApiError as error:
            meta = error.meta
            record = meta.record if isinstance(meta, AnswerMeta) else None
            record_id = None if record is None else record.id
            if isinstance(meta, LedgerRecord):  # a refusal before routing: its record alone
                record_id = meta.id
            raise JudgeCallError(
                f"the judge call failed: {error.status} {error.message}",
                record_id,
                _ZERO if record is None else _failed_cost(record),
            ) from None
        try:
            document = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            document = None
        text = answer_of("responses", document).text if isinstance(document, dict) else ""
        return JudgeReply(text, answer.meta.cost_usd, answer.meta.record_id)


def _failed_cost(record: LedgerRecord) -> Decimal | None:
    """A failed call's cost: exact when known; nothing when nothing was generated; else
    unknown (as laneway.replay.costs.cost_unknown reads a row)."""
    if record.cost_usd is not None:
        return record.cost_usd
    return None if record.usage is not None or record.cost_basis is not None else _ZERO
