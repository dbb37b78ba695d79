"""A virtual key as a row of the `virtual_keys` table, the same columns in SQLite and PostgreSQL.

The stores differ only in how a list of names is held (JSON text in SQLite, a text array in
PostgreSQL) and how money is (exact text, NUMERIC): each passes its own `names`/`money` codecs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from laneway.keys.model import VirtualKey
from laneway.quota.budget import WINDOWS, BudgetLimit


def key_row(
    key: VirtualKey,
    names: Callable[[tuple[str, ...]], Any],
    money: Callable[[Decimal], Any],
) -> tuple[Any, ...]:
    """The column values of `key`, in the table's order."""
    budgets = {b.window: money(b.usd) for b in key.budgets}
    return (
        key.id, key.name, key.prefix, key.digest, key.created_at, key.updated_at,
        key.expires_at, key.revoked_at, key.rpm, key.tpm,
        budgets.get("day"), budgets.get("month"), budgets.get("lifetime"),
        names(key.lanes), names(key.models), key.passthrough,
    )  # fmt: skip


def key_of(row: Sequence[Any], names: Callable[[Any], Sequence[str]]) -> VirtualKey:
    """The key a row holds; budget amounts read as exact Decimal from text or NUMERIC."""
    (key_id, name, prefix, digest, created, updated, expires, revoked, rpm, tpm,
     day, month, lifetime, lanes, models, passthrough) = row  # fmt: skip
    amounts = dict(zip(WINDOWS, (day, month, lifetime), strict=True))
    return VirtualKey(
        id=key_id,
        name=name,
        prefix=prefix,
        digest=digest,
        created_at=created,
        updated_at=updated,
        expires_at=expires,
        revoked_at=revoked,
        rpm=rpm,
        tpm=tpm,
        budgets=tuple(
            BudgetLimit(window, Decimal(amount))
            for window, amount in amounts.items()
            if amount is not None
        ),
        lanes=tuple(names(lanes)),
        models=tuple(names(models)),
        passthrough=bool(passthrough),
    )
