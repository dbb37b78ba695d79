"""Client authentication: which laneway key a request carries.

Keys are held only as SHA-256 digests and compared in constant time against every configured
key. With no key configured (loopback only, see `run.py`) any bearer is accepted, and a key id
derived from it still tells callers apart in the ledger. An id is a short hash: never the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from laneway.wire.errors import incorrect_api_key, missing_api_key

ANONYMOUS = "anonymous"


def key_id_of(key: str) -> str:
    return "key_" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class ClientKeys:
    def __init__(self, keys: Sequence[str], lanes: Mapping[str, str] | None = None) -> None:
        self._digests = [(hashlib.sha256(key.encode()).digest(), key_id_of(key)) for key in keys]
        # By key id, never by key: the default lane `model: "auto"` takes for that key.
        self._lanes = {key_id_of(key): lane for key, lane in (lanes or {}).items()}

    def lane_of(self, key_id: str) -> str | None:
        return self._lanes.get(key_id) if self._lanes else None

    @property
    def open(self) -> bool:
        """No keys configured: any bearer is accepted."""
        return not self._digests

    def identify(self, authorization: bytes | None) -> str:
        """The key id for an Authorization header; ApiError 401 when it is missing or wrong."""
        if authorization is None or authorization[:7].lower() != b"bearer ":
            if self.open:
                return ANONYMOUS
            raise missing_api_key()
        key = authorization[7:].strip().decode("latin-1")
        if self.open:
            return key_id_of(key) if key else ANONYMOUS
        digest = hashlib.sha256(key.encode()).digest()
        found = None
        for candidate, key_id in self._digests:  # no early exit: the same work for any key
            if hmac.compare_digest(digest, candidate):
                found = key_id
        if found is None:
            raise incorrect_api_key(". Use a key this laneway gateway is configured with.")
        return found
