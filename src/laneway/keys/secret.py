"""Virtual key secrets: how they are made, what is kept of them, and how a presented one is
checked.

A key reads `lw-<prefix>-<secret>`: the prefix is 10 lowercase base32 characters, public (shown
in listings, the store's lookup handle); the secret part is 256 bits from `secrets`, in 52 more.
Only the SHA-256 digest of the whole key is stored: a fast hash is enough for a random 256-bit
secret (nothing to brute-force), and it keeps the per-request check to microseconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from laneway.keys.model import VirtualKey

KEY_START = "lw-"
PREFIX_LENGTH = 10
SECRET_BYTES = 32  # 256 bits; the spec's floor is 192
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_SECRET_LENGTH = 52  # 32 bytes in base32, padding dropped
PREFIX_PATTERN = re.compile(f"[{_BASE32}]{{{PREFIX_LENGTH}}}")
_KEY_PATTERN = re.compile(
    f"{re.escape(KEY_START)}({PREFIX_PATTERN.pattern})-[{_BASE32}]{{{_SECRET_LENGTH}}}"
)
# Compared against when no key has the presented prefix, so that a miss does the same hashing
# and comparison as a wrong secret.
_NO_DIGEST = hashlib.sha256(b"laneway: no such key").hexdigest()


@dataclass(frozen=True, slots=True)
class NewSecret:
    """A freshly made key: `key` is shown to its owner once and never stored."""

    key: str = field(repr=False)
    prefix: str
    digest: str = field(repr=False)


def new_prefix() -> str:
    return "".join(secrets.choice(_BASE32) for _ in range(PREFIX_LENGTH))


def new_secret() -> NewSecret:
    body = base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
    prefix = new_prefix()
    key = f"{KEY_START}{prefix}-{body.rstrip('=').lower()}"
    return NewSecret(key=key, prefix=prefix, digest=digest_of(key))


def digest_of(key: str) -> str:
    """The stored form of a key: SHA-256 of the whole key, hex."""
    # surrogatepass: any presented string hashes (and then matches nothing) instead of raising.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def prefix_of(presented: str) -> str | None:
    """The prefix of a well-formed key; None for anything else (it can match no key)."""
    match = _KEY_PATTERN.fullmatch(presented)
    return match.group(1) if match else None


def is_prefix(text: str) -> bool:
    return PREFIX_PATTERN.fullmatch(text) is not None


def matches(presented: str, digest: str) -> bool:
    """Whether `presented` is the key stored as `digest`, in time independent of where they
    differ."""
    return hmac.compare_digest(digest_of(presented).encode(), digest.encode())


def find_by_secret(
    presented: str, by_prefix: Callable[[str], VirtualKey | None]
) -> VirtualKey | None:
    """The key `presented` is, whatever its status, or None. `by_prefix` is where keys are
    looked up: a store's `by_prefix`, or a cache's `get`."""
    prefix = prefix_of(presented)
    found = by_prefix(prefix) if prefix is not None else None
    # A malformed key or unknown prefix still hashes and compares, like a wrong secret does.
    if not matches(presented, found.digest if found is not None else _NO_DIGEST):
        return None
    return found
