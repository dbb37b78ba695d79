"""A stored response's calls through the gateway: `GET` and `DELETE /v1/responses/{id}`,
`GET .../input_items` and `POST .../cancel`, sent to the deployment that made the response and
only for the key that made it.

Where a response lives and whose it is (`ResponseHomes.find`): this process's `Affinity` (a dict
lookup), then Redis when replicas share state there, then the ledger (the `response_id` column);
found elsewhere, it is remembered here. Unknown, or another key's, is answered exactly as an
unknown id is: 404 for these calls, and 400 "Previous response ... not found" for a
`previous_response_id` follow-up, so one key can neither read nor continue another's
conversation. The upstream's answer is relayed as it is (status and body); a stored response's
`stream=true` GET is not served (400).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from urllib.parse import quote

from laneway.gateway.client import Client
from laneway.http.messages import Response
from laneway.ledger.repository import ResponseHome
from laneway.quota.shared_affinity import Place, SharedAffinity
from laneway.routing.affinity import Affinity
from laneway.upstream.providers import Provider
from laneway.upstream.secrets import NO_SECRETS, Redactor
from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import UpstreamFailure
from laneway.wire.errors import (
    ApiError,
    invalid_request,
    previous_response_not_found,
    response_not_found,
)

# (method, what follows the id) of the calls served: retrieve, delete, input items, cancel.
CALLS = frozenset([(b"GET", ""), (b"DELETE", ""), (b"GET", "input_items"), (b"POST", "cancel")])
PREFIX = "/v1/responses/"


class ResponseHomes:
    """Where each response lives and whose it is: here, in Redis, in the ledger."""

    def __init__(
        self,
        affinity: Affinity,
        shared: SharedAffinity | None = None,
        ledger: Callable[[str], ResponseHome | None] | None = None,
    ) -> None:
        """`ledger`: a blocking lookup (run on a worker thread)."""
        self.affinity = affinity
        self.shared = shared
        self._ledger = ledger

    def remember(self, response_id: str, provider: str, model: str, owner: str | None) -> None:
        self.affinity.remember(response_id, provider, model, owner)
        if self.shared is not None:
            self.shared.note(response_id, provider, model, owner)

    def forget(self, response_id: str) -> None:
        self.affinity.forget(response_id)
        if self.shared is not None:
            self.shared.forget(response_id)

    async def find(self, response_id: str) -> Place | None:
        place = self.affinity.place_of(response_id)
        if place is not None:
            return place
        if self.shared is not None:
            place = await self.shared.lookup(response_id)
        if place is None and self._ledger is not None:
            row = await asyncio.to_thread(self._ledger, response_id)
            if row is not None and row[1] is not None and row[2] is not None:
                place = (row[1], row[2], row[0])
        if place is not None:  # known here from now on: the next call is a dict lookup
            self.affinity.remember(response_id, *place)
        return place

    async def check_follow_up(self, client: Client, response_id: str) -> None:
        """A `previous_response_id` the client may continue: its own, known here or found
        (and so routed home); anything else is refused as OpenAI refuses an unknown id."""
        place = self.affinity.place_of(response_id)
        if place is None:
            place = await self.find(response_id)
        if place is None or place[2] != client.key_id:
            raise previous_response_not_found(response_id)


class ResponseCalls:
    """The four calls on a stored response, forwarded to its home for its owner."""

    def __init__(
        self,
        homes: ResponseHomes,
        providers: Sequence[Provider],
        timeouts: Timeouts,
        learned: Callable[[str, bytes], None],
        pending: Callable[[str], bool],
        redact: Redactor = NO_SECRETS,
    ) -> None:
        """`learned`: told of every response object read; `pending`: whether a response is a
        background one not yet settled (the two sides of background settlements); `redact`:
        strikes the providers' keys from an upstream's error relayed."""
        self._homes = homes
        self._by_name = {provider.name: provider for provider in providers}
        self._timeouts = timeouts
        self._learned = learned
        self._pending = pending
        self._redact = redact

    async def call(
        self, client: Client, method: bytes, response_id: str, action: str, query: str
    ) -> Response:
        if action == "" and method == b"GET" and "stream=true" in query:
            raise invalid_request(
                "laneway does not stream a stored response: retrieve it without stream=true.",
                param="stream",
            )
        place = await self._homes.find(response_id)
        provider = self._by_name.get(place[0]) if place is not None else None
        if place is None or provider is None or place[2] != client.key_id:
            raise response_not_found(response_id)
        if method == b"DELETE" and self._pending(response_id):
            # Cancelled first, so its record is settled at what it cost (deleted, it could
            # no longer be retrieved).
            await self.call(client, b"POST", response_id, "cancel", "")
        status, body = await upstream_call(
            provider, method, response_id, action, query, self._timeouts
        )
        if status != 200:
            return Response(status, self._redact.data(body))
        if method == b"DELETE":
            self._homes.forget(response_id)
        elif action != "input_items":
            self._learned(response_id, body)
        return Response(status, body)


async def upstream_call(
    provider: Provider,
    method: bytes,
    response_id: str,
    action: str,
    query: str,
    timeouts: Timeouts,
) -> tuple[int, bytes]:
    """(status, body) of one call on a stored response at `provider`; 502/504 when it gave no
    complete answer."""
    url = f"{provider.base_url}/responses/{quote(response_id, safe='')}"
    if action:
        url += "/" + action
    if query:
        url += "?" + query
    try:
        response = await provider.transport.send(
            url, provider.headers, b"", timeouts, method=method
        )
        try:
            return response.status, await response.read()
        finally:
            response.close()
    except UpstreamFailure as failure:
        raise ApiError(
            failure.status,
            f"provider {provider.name} gave no answer: {failure}",
            type="server_error",
            code=failure.code,
        ) from None
