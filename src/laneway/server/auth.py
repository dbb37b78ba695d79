"""Client authentication: who a request is from.

Two kinds of client key:
- virtual keys (`laneway keys create`, `lw-<prefix>-<secret>`): looked up by prefix in the
  replica's key cache, their SHA-256 digest compared in constant time; revoked and expired keys
  get 401. They carry limits, budgets and the lanes and models they may reach.
- configured keys (`server.api_keys`, `$LANEWAY_API_KEYS`): held only as SHA-256 digests and
  compared in constant time against every configured key.

With no key of either kind (loopback only, see `run.py`) any bearer is accepted, and a key id
derived from it still tells callers apart in the ledger. An id is a short hash: never the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from laneway.clock import Clock
from laneway.gateway.client import ANONYMOUS_CLIENT, Client
from laneway.keys.model import VirtualKey
from laneway.keys.registry import KeyRegistry
from laneway.keys.secret import KEY_START, PREFIX_LENGTH, matches, prefix_of
from laneway.wire.errors import ApiError, incorrect_api_key, missing_api_key

ANONYMOUS = "anonymous"
_PREFIX_AT = len(KEY_START)
_PREFIX_END = _PREFIX_AT + PREFIX_LENGTH
_MAX_CLIENTS = 100_000
_WRONG = ". Use a key this laneway gateway is configured with."


class InactiveKey(ApiError):
    """401 for a virtual key whose secret matched but which is revoked or expired. Its holder is
    identified (`client`), so the refusal is recorded under the key's id, with `state` (revoked
    or expired) as its origin; other 401s are only counted (laneway.ledger.unauthenticated)."""

    status: int

    def __init__(self, client: Client, state: str) -> None:
        message = incorrect_api_key(f": the key {client.prefix} has been {state}.").message
        super().__init__(401, message, code="invalid_api_key")
        self.client = client
        self.state = state


def key_id_of(key: str) -> str:
    return "key_" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class ClientKeys:
    """The configured (static) client keys."""

    def __init__(self, keys: Sequence[str], lanes: Mapping[str, str] | None = None) -> None:
        self._digests = [(hashlib.sha256(key.encode()).digest(), key_id_of(key)) for key in keys]
        # By key id, never by key: the default lane `model: "auto"` takes for that key.
        self._lanes = {key_id_of(key): lane for key, lane in (lanes or {}).items()}

    def lane_of(self, key_id: str) -> str | None:
        return self._lanes.get(key_id) if self._lanes else None

    @property
    def open(self) -> bool:
        """No keys configured."""
        return not self._digests

    def key_id(self, key: str) -> str | None:
        """The id of a configured key, or None."""
        digest = hashlib.sha256(key.encode()).digest()
        found = None
        for candidate, key_id in self._digests:  # no early exit: the same work for any key
            if hmac.compare_digest(digest, candidate):
                found = key_id
        return found


class Authenticator:
    def __init__(self, keys: ClientKeys, registry: KeyRegistry | None, clock: Clock) -> None:
        self._keys = keys
        self._registry = registry
        self._clock = clock
        self._clients: dict[str, Client] = {}  # by key prefix: the same for each request

    @property
    def registry(self) -> KeyRegistry | None:
        return self._registry

    @property
    def open(self) -> bool:
        """No key of either kind: any bearer, or none, is accepted."""
        return self._keys.open and (self._registry is None or not self._registry.any)

    def identify(self, authorization: bytes | None) -> Client | None:
        """The caller, or None when its virtual key is not cached and must be read from the
        store first (`await lookup(authorization)`). ApiError 401 for a missing or wrong key."""
        if authorization is None or authorization[:7].lower() != b"bearer ":
            if self.open:
                return ANONYMOUS_CLIENT
            raise missing_api_key()
        presented = authorization[7:].strip().decode("latin-1")
        registry = self._registry
        if registry is not None and presented.startswith(KEY_START):
            # Where a well-formed key's prefix is. A key found there that matches needs no
            # pattern check: only the key itself has its digest.
            key = registry.cached(presented[_PREFIX_AT:_PREFIX_END])
            if key is not None and matches(presented, key.digest):
                return self._active(key)
            prefix = prefix_of(presented)
            if prefix is not None:
                key = registry.cached(prefix)
                if key is not None:
                    return self._virtual(presented, key)
                if not registry.known_missing(prefix):
                    return None
        return self._configured(presented)

    async def lookup(self, authorization: bytes) -> Client:
        """`identify` for a virtual key that must be read from the store."""
        presented = authorization[7:].strip().decode("latin-1")
        prefix = prefix_of(presented)
        registry = self._registry
        if prefix is not None and registry is not None:
            key = await registry.fetch(prefix)
            if key is not None:
                return self._virtual(presented, key)
        return self._configured(presented)

    def _virtual(self, presented: str, key: VirtualKey) -> Client:
        if not matches(presented, key.digest):
            raise incorrect_api_key(_WRONG)
        return self._active(key)

    def _active(self, key: VirtualKey) -> Client:
        """The client of a key whose secret was presented: 401 unless it is active."""
        status = key.status(self._clock.time())
        if status != "active":
            raise InactiveKey(Client(key.id, key.default_lane, key, key.prefix), status)
        client = self._clients.get(key.prefix)
        if client is None or client.key is not key:  # new, or the key changed since
            if len(self._clients) > _MAX_CLIENTS:
                self._clients.clear()
            client = Client(key.id, key.default_lane, key, key.prefix)
            self._clients[key.prefix] = client
        return client

    def _configured(self, presented: str) -> Client:
        if self.open:
            return Client(key_id_of(presented) if presented else ANONYMOUS)
        key_id = self._keys.key_id(presented)
        if key_id is None:
            raise incorrect_api_key(_WRONG)
        return Client(key_id, self._keys.lane_of(key_id))
