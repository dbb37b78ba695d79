"""Managing virtual keys: create, list, revoke, rotate, and checking a presented key.

Shared by the CLI and the admin API. A secret leaves here exactly once, in what `create` or
`rotate` returns; only its digest is stored.
"""

from __future__ import annotations

import builtins
import logging
import math
import re
import secrets
from collections.abc import Callable, Collection, Sequence

from laneway.clock import Clock
from laneway.keys.model import VirtualKey
from laneway.keys.revocations import RevocationError, Revocations
from laneway.keys.secret import find_by_secret, new_secret
from laneway.keys.store import (
    KeyFieldError,
    KeyNameRetired,
    KeyNotFound,
    KeyRevoked,
    KeyStore,
    KeyStoreError,
    PrefixInUse,
)
from laneway.pricing.names import ModelNames, did_you_mean
from laneway.quota.budget import WINDOWS, BudgetLimit

MAX_NAME = 64
MAX_RATE = 10**12  # far above any real limit; keeps values inside a 64-bit column
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME - 1}}}")
_LANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # as lane names are written in config
_MODEL = re.compile(r"[^\s,]{1,200}")
_PREFIX_TRIES = 5  # a prefix collision is a 1 in 2**50 event; five in a row means a bug

log = logging.getLogger(__name__)
Warn = Callable[[str], None]


def new_key_id() -> str:
    return "vk_" + secrets.token_hex(12)


class KeyService:
    def __init__(
        self,
        store: KeyStore,
        revocations: Revocations,
        clock: Clock,
        *,
        warn: Warn | None = None,
        lanes: Collection[str] | None = None,
        models: ModelNames | None = None,
    ) -> None:
        """`lanes`: the gateway's lane names, which a new key's lanes must be among (None: any
        well-formed name). `models`: the model names it knows, which a new key's models must
        be among, a case variant read as the name it matches (None: any well-formed name)."""
        self._store = store
        self._revocations = revocations
        self._clock = clock
        self._warn = warn or log.warning
        self._lanes = lanes
        self._models = models

    def create(
        self,
        name: str,
        *,
        budgets: Sequence[BudgetLimit] = (),
        rpm: int | None = None,
        tpm: int | None = None,
        lanes: Sequence[str] = (),
        models: Sequence[str] = (),
        expires_in_s: float | None = None,
        passthrough: bool = False,
    ) -> tuple[VirtualKey, str]:
        """A new key and its secret, which is returned this once and never stored.
        KeyFieldError naming the field; KeyExists if a live key has this name, KeyNameRetired if
        a revoked one has it."""
        _check_name(name)
        limits = _checked_budgets(budgets)
        _check_rate("rpm", rpm)
        _check_rate("tpm", tpm)
        lane_names = _checked_names("lanes", lanes, _LANE)
        if self._lanes is not None:
            _check_known_lanes(lane_names, self._lanes)
        model_names = _checked_names("models", models, _MODEL)
        if self._models is not None:
            model_names = _known_models(model_names, self._models)
        _check_expiry(expires_in_s)
        if passthrough:
            _check_passthrough(
                bool(limits or lane_names or model_names) or (rpm, tpm) != (None, None)
            )
        self._check_name_unused(name)
        now = self._clock.time()
        key_id = new_key_id()
        for _ in range(_PREFIX_TRIES):
            secret = new_secret()
            key = VirtualKey(
                id=key_id,
                name=name,
                prefix=secret.prefix,
                digest=secret.digest,
                created_at=now,
                updated_at=now,
                expires_at=None if expires_in_s is None else now + expires_in_s,
                rpm=rpm,
                tpm=tpm,
                budgets=limits,
                lanes=lane_names,
                models=model_names,
                passthrough=passthrough,
            )
            try:
                self._store.add(key)
            except PrefixInUse:
                continue
            return key, secret.key
        raise KeyStoreError(f"no free key prefix after {_PREFIX_TRIES} tries")

    def _check_name_unused(self, name: str) -> None:
        # Only revoked holders are checked here: the store refuses a live one (KeyExists), in
        # the database, race-free. Stores made before this check may hold such pairs already.
        held = self._store.find(name)
        if held is not None and held.name == name and held.revoked_at is not None:
            raise KeyNameRetired(name, held.prefix)

    def get(self, ref: str) -> VirtualKey:
        """By id, prefix or name (see KeyStore.find); KeyNotFound otherwise."""
        found = self._store.find(ref)
        if found is None:
            raise KeyNotFound(ref)
        return found

    def set_passthrough(self, ref: str, granted: bool) -> VirtualKey:
        """Grant or withdraw passthrough; granting is refused (KeyFieldError) to a key with
        lanes, models, budgets or rate limits, or a revoked one."""
        key = self.get(ref)
        if granted:
            if key.revoked_at is not None:
                raise KeyRevoked(key.name, key.prefix)
            limited = not key.unrestricted or bool(key.budgets)
            _check_passthrough(limited or (key.rpm, key.tpm) != (None, None))
        return self._store.set_passthrough(key.id, granted, self._clock.time())

    def revoke(self, ref: str) -> tuple[VirtualKey, bool]:
        """Revoke in the store, then announce the prefix so every replica refuses it at once;
        the key and whether it was revoked already. Revoking a revoked key changes nothing in
        the store and announces it again (a retry after a failed announcement)."""
        at = self._clock.time()
        key = self._store.revoke(self.get(ref).id, at)
        already = key.revoked_at != at
        try:
            self._revocations.announce(key.prefix)
        except RevocationError as exc:
            raise RevocationError(
                f"key {key.name!r} ({key.prefix}) is revoked in the key store, but: {exc}. "
                "Other replicas refuse it after their next key refresh; revoke it again to retry"
            ) from None
        return key, already

    def rotate(self, ref: str) -> tuple[VirtualKey, str]:
        """A new secret for the same key (same id, limits and spend); the old secret stops
        working at once: its prefix is announced as revoked. KeyRevoked for a revoked key."""
        old = self.get(ref)
        if old.revoked_at is not None:
            raise KeyRevoked(old.name, old.prefix)
        for _ in range(_PREFIX_TRIES):
            secret = new_secret()
            try:
                key = self._store.replace_secret(
                    old.id, secret.prefix, secret.digest, self._clock.time()
                )
            except PrefixInUse:
                continue
            break
        else:
            raise KeyStoreError(f"no free key prefix after {_PREFIX_TRIES} tries")
        try:
            self._revocations.announce(old.prefix)
        except RevocationError as exc:
            # The new secret must still reach its owner: it is already the only valid one.
            self._warn(
                f"key {key.name!r} is rotated, but the old secret ({old.prefix}) may work on "
                f"other replicas until their next key refresh: {exc}"
            )
        return key, secret.key

    def lookup(self, presented: str) -> VirtualKey | None:
        """The key a client presented, in whatever status (the caller decides what a revoked
        or expired key gets), or None: unknown, wrong or malformed."""
        return find_by_secret(presented, self._store.by_prefix)

    def list(self) -> builtins.list[VirtualKey]:
        """Every key, revoked and expired ones included, oldest first."""
        return self._store.all()


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise KeyFieldError(
            "name",
            f"{name!r} is not a key name: 1 to {MAX_NAME} letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    if name.startswith("vk_"):
        raise KeyFieldError("name", f"{name!r} would read as a key id; choose another name")


def _checked_budgets(budgets: Sequence[BudgetLimit]) -> tuple[BudgetLimit, ...]:
    by_window: dict[str, BudgetLimit] = {}
    for budget in budgets:
        if budget.window in by_window:
            raise KeyFieldError(
                "budgets", f"two budgets for the {budget.window} window; give one per window"
            )
        if not budget.usd.is_finite() or budget.usd <= 0:
            raise KeyFieldError("budgets", f"a budget must be more than zero: {budget}")
        by_window[budget.window] = budget
    # One order whatever the input's, so a key reads back from any store equal to itself.
    return tuple(by_window[window] for window in WINDOWS if window in by_window)


def _check_passthrough(limited: bool) -> None:
    # A passthrough call names no model and has no price: a key's lanes, models, budgets or
    # rate limits could not hold it, so a limited key never gains the provider's full reach.
    if limited:
        raise KeyFieldError(
            "passthrough",
            "only a key without lanes, models, budgets or rate limits may be granted "
            "passthrough: a passthrough call names no model and has no price to hold to them",
        )


def _check_expiry(seconds: float | None) -> None:
    if seconds is None:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise KeyFieldError("expires_in_s", f"must be a number of seconds, got {seconds!r}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise KeyFieldError("expires_in_s", f"must be more than zero, got {seconds!r}")


def _check_rate(field: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_RATE:
        raise KeyFieldError(field, f"must be a whole number from 1 to {MAX_RATE}, got {value!r}")


def _check_known_lanes(names: Sequence[str], known: Collection[str]) -> None:
    # A key naming a lane the gateway does not have could never use it.
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise KeyFieldError("lanes", f"no lane named {', '.join(unknown)} (lanes: {listed})")


def _known_models(names: Sequence[str], known: ModelNames) -> tuple[str, ...]:
    # A key naming a model no one serves could never use it (and a typo would go unnoticed).
    resolved = []
    for name in names:
        found = known.resolve(name)
        if found is None:
            raise KeyFieldError(
                "models",
                f"unknown model {name!r}: not in the catalog, and no provider lists it."
                + did_you_mean(known.suggest(name)),
            )
        resolved.append(found)
    return tuple(dict.fromkeys(resolved))


def _checked_names(field: str, names: Sequence[str], pattern: re.Pattern[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise KeyFieldError(field, "must be a list of names, not one string")
    for name in names:
        if not isinstance(name, str) or not pattern.fullmatch(name):
            raise KeyFieldError(field, f"{name!r} is not a valid name")
    return tuple(dict.fromkeys(names))
