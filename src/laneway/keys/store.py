"""Where virtual keys are kept: the interface both stores implement, and their errors.

Stores are synchronous and thread-safe; call them from a worker thread inside an event loop.
No error message ever holds a secret or a digest.
"""

from __future__ import annotations

from typing import Protocol

from laneway.errors import LanewayError
from laneway.keys.model import VirtualKey
from laneway.schema.report import MigrationReport


class VirtualKeyError(LanewayError):
    """Base of the virtual key errors."""

    status: int = 400


class KeyFieldError(VirtualKeyError, ValueError):
    """A value given for a key is invalid; the message starts with the field (or option)."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class KeyExists(VirtualKeyError):
    """A key that is not revoked already has this name."""

    status = 409
    code = "key_exists"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"a key named {name!r} already exists; rotate it for a new secret "
            "(laneway keys rotate) or choose another name"
        )


class KeyNameRetired(VirtualKeyError):
    """A revoked key holds this name: names are never reused, so the ledger's history and
    every reference by name point at one key."""

    status = 409
    code = "key_name_retired"

    def __init__(self, name: str, prefix: str) -> None:
        self.name = name
        super().__init__(
            f"the revoked key {prefix} was named {name!r}, and a name is never reused (the "
            "ledger's history and `usage` would mix the two); choose another name"
        )


class KeyNotFound(VirtualKeyError, LookupError):
    """No key has this id, prefix or name."""

    status = 404
    code = "key_not_found"

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(
            f"no key has the id, prefix or name {ref!r} (laneway keys list shows them)"
        )


class KeyRevoked(VirtualKeyError):
    """The operation needs a key that is not revoked."""

    status = 409
    code = "key_revoked"

    def __init__(self, name: str, prefix: str) -> None:
        super().__init__(
            f"key {name!r} ({prefix}) is revoked and cannot be rotated; create a new key instead"
        )


class PrefixInUse(VirtualKeyError):
    """Another key already has this prefix (a 1 in 2**50 chance; make another secret)."""

    status = 409

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        super().__init__(f"the key prefix {prefix} is taken")


class KeyStoreError(VirtualKeyError):
    """The key store cannot be used: unreachable, or not a database. (A schema this laneway
    cannot read raises laneway.schema.errors.SchemaError.)"""

    status = 503


class KeyStore(Protocol):
    @property
    def migration(self) -> MigrationReport:
        """What opening the store found and did to its schema (laneway.schema)."""

    def add(self, key: VirtualKey) -> None:
        """Store a new key. KeyExists if a key that is not revoked has its name; PrefixInUse if
        a key has its prefix."""

    def get(self, key_id: str) -> VirtualKey | None: ...

    def by_prefix(self, prefix: str) -> VirtualKey | None:
        """The key whose current prefix this is (a rotated-away prefix finds nothing)."""

    def find(self, ref: str) -> VirtualKey | None:
        """By id, else prefix (with or without "lw-"), else name; for a name, the key that is
        not revoked if there is one, else the newest."""

    def all(self) -> list[VirtualKey]:
        """Every key, revoked ones included, oldest first."""

    def changed_since(self, since: float) -> list[VirtualKey]:
        """Keys created or changed at or after `since` (their updated_at), oldest change first:
        for replicas refreshing a cache. Their clocks differ: ask from a little before the last
        refresh. A rotated key comes back under its new prefix: drop its old one (same id)."""

    def revoke(self, key_id: str, at: float) -> VirtualKey:
        """Mark revoked at `at` (kept if already revoked); KeyNotFound if there is no such key."""

    def replace_secret(self, key_id: str, prefix: str, digest: str, at: float) -> VirtualKey:
        """Rotation: the key takes a new prefix and digest, keeping its id and everything else.
        KeyNotFound, KeyRevoked, or PrefixInUse."""

    def set_passthrough(self, key_id: str, granted: bool, at: float) -> VirtualKey:
        """Grant or withdraw the passthrough grant (docs/gateway.md); KeyNotFound."""

    def close(self) -> None: ...
